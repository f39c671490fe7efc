import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { usageEventFromJson, usageEventToJson, type UsageEvent } from './usage-event.ts';

/** One spooled batch: a file of JSON lines, deleted once the store holds every event in it. */
export interface SpoolSegment {
  /** Zero-padded sequence number: names sort in the order they were written. */
  seq: number;
  path: string;
  /** Its size on disk, counted against the spool's limit until it is removed. */
  bytes: number;
}

/** A write refused because the spool holds its limit (the store has been away for that long). */
export class SpoolFullError extends Error {}

const SEGMENT_FILE = /^(\d{12})-[0-9a-f]{6}\.ndjson$/;
const ID_FILE = 'writer-id';

/**
 * The local append-only spool: each group commit writes its events as a new segment file and fsyncs it
 * (and the directory) before the batch is handed to the store, so a crash loses at most the events
 * recorded since the last commit. At start every segment left over is replayed.
 */
export class UsageSpool {
  readonly dir: string;
  readonly #maxBytes: number;
  #bytes = 0;
  #nextSeq = 1;
  #writerId = '';

  /** `maxBytes` bounds the disk it takes while the store is away; past it, writes are refused. */
  constructor(dir: string, maxBytes = Number.POSITIVE_INFINITY) {
    this.dir = dir;
    this.#maxBytes = maxBytes;
  }

  /** Bytes of segments on disk that the store does not hold yet. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A stable id for this spool across restarts, so a store can recognise its earlier, still-running writes. */
  get writerId(): string {
    return this.#writerId;
  }

  /** Creates the directory if needed and returns the segments left by an earlier run, oldest first. */
  async open(): Promise<SpoolSegment[]> {
    await mkdir(this.dir, { recursive: true });
    try {
      this.#writerId = (await readFile(join(this.dir, ID_FILE), 'utf8')).trim();
    } catch {
      this.#writerId = '';
    }
    if (!/^[0-9a-f]{16}$/.test(this.#writerId)) {
      this.#writerId = randomBytes(8).toString('hex');
      await writeFile(join(this.dir, ID_FILE), `${this.#writerId}\n`);
    }
    const segments = await Promise.all(
      (await readdir(this.dir))
        .map((name) => ({ name, match: SEGMENT_FILE.exec(name) }))
        .filter((entry) => entry.match !== null)
        .map(async (entry) => {
          const path = join(this.dir, entry.name);
          return { seq: Number(entry.match![1]), path, bytes: (await stat(path)).size };
        }),
    );
    segments.sort((a, b) => a.seq - b.seq);
    this.#bytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
    this.#nextSeq = (segments.at(-1)?.seq ?? 0) + 1;
    return segments;
  }

  /** Writes one segment durably: data, then the directory entry. */
  async write(events: readonly UsageEvent[]): Promise<SpoolSegment> {
    const data = Buffer.from(`${events.map(usageEventToJson).join('\n')}\n`);
    if (this.#bytes + data.length > this.#maxBytes) {
      throw new SpoolFullError(`the usage spool holds ${this.#bytes} bytes and its limit is ${this.#maxBytes} (TOLLGATE_USAGE_SPOOL_MAX_BYTES)`);
    }
    const segment = this.#nextSegment(data.length);
    const handle = await open(segment.path, 'wx');
    try {
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.#syncDir();
    this.#bytes += data.length;
    return segment;
  }

  /** The synchronous form, for the rare event recorded after close(): durable before it returns. */
  writeSync(events: readonly UsageEvent[]): SpoolSegment {
    mkdirSync(this.dir, { recursive: true });
    const data = Buffer.from(`${events.map(usageEventToJson).join('\n')}\n`);
    // Not held to the limit: it takes the few events recorded after close(), which would be lost otherwise.
    const segment = this.#nextSegment(data.length);
    appendFileSync(segment.path, data, { flush: true });
    this.#bytes += data.length;
    return segment;
  }

  /** Reads a segment; a line torn by a crash mid-write (always the last) is skipped. */
  async read(segment: SpoolSegment): Promise<{ events: UsageEvent[]; torn: number }> {
    const text = await readFile(segment.path, 'utf8');
    const events: UsageEvent[] = [];
    let torn = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        events.push(usageEventFromJson(line));
      } catch {
        torn += 1;
      }
    }
    return { events, torn };
  }

  async remove(segment: SpoolSegment): Promise<void> {
    await unlink(segment.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    this.#bytes = Math.max(0, this.#bytes - segment.bytes);
  }

  #nextSegment(bytes: number): SpoolSegment {
    const seq = this.#nextSeq;
    this.#nextSeq += 1;
    return { seq, path: join(this.dir, `${String(seq).padStart(12, '0')}-${randomBytes(3).toString('hex')}.ndjson`), bytes };
  }

  async #syncDir(): Promise<void> {
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
