import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { usageEventFromJson, usageEventToJson, type UsageEvent } from './usage-event.ts';

/** One spooled batch: a file of JSON lines, deleted once the store holds every event in it. */
export interface SpoolSegment {
  /** Zero-padded sequence number: names sort in the order they were written. */
  seq: number;
  path: string;
}

const SEGMENT_FILE = /^(\d{12})-[0-9a-f]{6}\.ndjson$/;
const ID_FILE = 'writer-id';

/**
 * The local append-only spool: each group commit writes its events as a new segment file and fsyncs it
 * (and the directory) before the batch is handed to the store, so a crash loses at most the events
 * recorded since the last commit. At start every segment left over is replayed.
 */
export class UsageSpool {
  readonly dir: string;
  #nextSeq = 1;
  #writerId = '';

  constructor(dir: string) {
    this.dir = dir;
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
    const segments = (await readdir(this.dir))
      .map((name) => ({ name, match: SEGMENT_FILE.exec(name) }))
      .filter((entry) => entry.match !== null)
      .map((entry) => ({ seq: Number(entry.match![1]), path: join(this.dir, entry.name) }))
      .sort((a, b) => a.seq - b.seq);
    this.#nextSeq = (segments.at(-1)?.seq ?? 0) + 1;
    return segments;
  }

  /** Writes one segment durably: data, then the directory entry. */
  async write(events: readonly UsageEvent[]): Promise<SpoolSegment> {
    const segment = this.#nextSegment();
    const handle = await open(segment.path, 'wx');
    try {
      await handle.writeFile(`${events.map(usageEventToJson).join('\n')}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.#syncDir();
    return segment;
  }

  /** The synchronous form, for the rare event recorded after close(): durable before it returns. */
  writeSync(events: readonly UsageEvent[]): SpoolSegment {
    mkdirSync(this.dir, { recursive: true });
    const segment = this.#nextSegment();
    appendFileSync(segment.path, `${events.map(usageEventToJson).join('\n')}\n`, { flush: true });
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
  }

  #nextSegment(): SpoolSegment {
    const seq = this.#nextSeq;
    this.#nextSeq += 1;
    return { seq, path: join(this.dir, `${String(seq).padStart(12, '0')}-${randomBytes(3).toString('hex')}.ndjson`) };
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
