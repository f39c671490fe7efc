import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../shared/logger.ts';
import { storedTextProblem } from '../../shared/stored-text.ts';
import { newUsageEvent, usageEventToJson, type UsageEvent } from './usage-event.ts';
import type { DeadLetterSink } from './usage-dead-letters.ts';
import { UsageMeter, type UsageMeterOptions } from './usage-meter.ts';
import { UsageStoreWriteError, type InsertOptions, type InsertResult, type UsageStore } from './usage-store.ts';

/** A store in memory that a test can take down, and that counts what a non-idempotent store would have doubled. */
class MemoryStore {
  readonly kind = 'pglite' as const;
  readonly counters = { reads: 0, writes: 0 };
  readonly events = new Map<string, UsageEvent>();
  down = false;
  /** The next N inserts write, then fail as a timeout after sending would. */
  failAfterWrite = 0;
  delayMs = 0;
  doubled = 0;
  /** Refuses a whole batch holding such an event, as Postgres refuses a NUL byte in a text column. */
  refuses: (event: UsageEvent) => boolean = () => false;
  readonly calls: InsertOptions[] = [];

  async insert(events: readonly UsageEvent[], options: InsertOptions = {}): Promise<InsertResult> {
    this.calls.push(options);
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.down) throw new UsageStoreWriteError('connect ECONNREFUSED', false);
    if (events.some(this.refuses)) throw new UsageStoreWriteError('unsupported Unicode escape sequence', false, { rejected: true });
    let inserted = 0;
    for (const event of events) {
      if (this.events.has(event.eventId)) {
        if (!options.maybeStored) this.doubled += 1;
        continue;
      }
      this.events.set(event.eventId, event);
      inserted += 1;
    }
    if (this.failAfterWrite > 0) {
      this.failAfterWrite -= 1;
      throw new UsageStoreWriteError('Timeout error.', true);
    }
    return { inserted, skipped: events.length - inserted };
  }
}

const dirs: string[] = [];
const meters: UsageMeter[] = [];
afterEach(async () => {
  for (const meter of meters.splice(0)) await meter.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function spoolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-spool-'));
  dirs.push(dir);
  return dir;
}

/** Dead letters in memory; the SQL table behind the real one is proven in test/integration/usage-poison.test.ts. */
class MemoryDeadLetters implements DeadLetterSink {
  readonly letters = new Map<string, { event: UsageEvent; error: string }>();
  async add(entries: readonly { event: UsageEvent; error: string }[]): Promise<void> {
    for (const entry of entries) this.letters.set(entry.event.eventId, entry);
  }
}

async function openMeter(store: MemoryStore, overrides: Partial<UsageMeterOptions> = {}): Promise<UsageMeter> {
  const meter = await UsageMeter.open({
    store: store as unknown as UsageStore,
    deadLetters: new MemoryDeadLetters(),
    spoolDir: overrides.spoolDir ?? spoolDir(),
    logger: createLogger('silent'),
    flushIntervalMs: 20,
    batchSize: 100,
    maxQueued: 1_000,
    insertTimeoutMs: 1_000,
    closeTimeoutMs: 500,
    retryMinMs: 20,
    retryMaxMs: 100,
    ...overrides,
  });
  meters.push(meter);
  return meter;
}

let counter = 0;
const event = (overrides: Partial<UsageEvent> = {}) =>
  newUsageEvent({ requestId: `req-${(counter += 1)}`, tenantId: 't-1', requestedModel: 'm', kind: 'chat', node: 'n', promptTokens: 3, completionTokens: 4, ...overrides });

const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.ndjson'));
const waitFor = async (condition: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('UsageMeter', () => {
  it('stores every recorded event once and leaves the spool empty', async () => {
    const store = new MemoryStore();
    const dir = spoolDir();
    const meter = await openMeter(store, { spoolDir: dir });
    const events = Array.from({ length: 450 }, () => event());
    for (const e of events) meter.record(e);
    await meter.flush();
    expect([...store.events.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(segmentFiles(dir)).toEqual([]);
    expect(meter.stats()).toMatchObject({ recorded: 450, stored: 450, queued: 0, spooled: 0, segments: 0, dropped: 0 });
    expect(store.calls.every((c) => c.maybeStored === false)).toBe(true);
  });

  it('paces small batches insertIntervalMs apart, sends a full batch at once, and a flush ends the wait', async () => {
    const store = new MemoryStore();
    const dir = spoolDir();
    const meter = await openMeter(store, { spoolDir: dir, insertIntervalMs: 400, batchSize: 100 });
    const insertTimes: number[] = [];
    const insert = store.insert.bind(store);
    store.insert = (events, options) => {
      insertTimes.push(Date.now());
      return insert(events, options);
    };
    // Ten small group commits over ~200 ms: the first goes at once, the rest wait together.
    for (let i = 0; i < 10; i += 1) {
      meter.record(event());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => store.events.size === 10, 2_000);
    expect(insertTimes).toHaveLength(2);
    expect(insertTimes[1]! - insertTimes[0]!).toBeGreaterThanOrEqual(390);
    // Events are spooled (durable) while they wait.
    for (let i = 0; i < 5; i += 1) meter.record(event());
    await waitFor(() => segmentFiles(dir).length > 0, 1_000);
    expect(store.events.size).toBe(10);
    // A full batch does not wait.
    for (let i = 0; i < 100; i += 1) meter.record(event());
    await waitFor(() => store.events.size >= 110, 300);
    // A flush does not wait either.
    meter.record(event());
    const flushStarted = Date.now();
    await meter.flush();
    expect(Date.now() - flushStarted).toBeLessThan(300);
    expect(store.events.size).toBe(116);
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('never throws from record(), whatever it is handed, and stores a normalised event', async () => {
    const store = new MemoryStore();
    const meter = await openMeter(store);
    const broken = { ...event(), ts: new Date('nope'), promptTokens: -5, completionTokens: Number.NaN, status: 'weird', currency: 'dollars' } as unknown as UsageEvent;
    expect(() => meter.record(broken)).not.toThrow();
    expect(() => meter.record(null as unknown as UsageEvent)).not.toThrow();
    await meter.flush();
    const stored = store.events.get(broken.eventId);
    expect(stored).toMatchObject({ promptTokens: 0, completionTokens: 0, status: 'error', currency: 'USD' });
    expect(Number.isFinite(stored?.ts.getTime())).toBe(true);
  });

  it('cuts an over-long text field without splitting a surrogate pair', async () => {
    const store = new MemoryStore();
    const meter = await openMeter(store);
    const long = event({ requestedModel: `x${'😀'.repeat(300)}` });
    meter.record(long);
    await meter.flush();
    const model = store.events.get(long.eventId)!.requestedModel;
    expect(model).toBe(`x${'😀'.repeat(255)}`);
    expect(storedTextProblem(model, { maxLength: 512 })).toBeNull();
  });

  it('calls onRecorded listeners at once, and a throwing listener harms nothing', async () => {
    const meter = await openMeter(new MemoryStore());
    const seen: string[] = [];
    meter.onRecorded(() => {
      throw new Error('listener bug');
    });
    const off = meter.onRecorded((e) => seen.push(e.eventId));
    const first = event();
    meter.record(first);
    off();
    meter.record(event());
    expect(seen).toEqual([first.eventId]);
  });

  it('keeps batches spooled while the store is down and stores each event exactly once when it returns', async () => {
    const store = new MemoryStore();
    const dir = spoolDir();
    store.down = true;
    const meter = await openMeter(store, { spoolDir: dir });
    const events = Array.from({ length: 300 }, () => event());
    for (const e of events) meter.record(e);
    await waitFor(() => meter.stats().consecutiveFailures >= 2);
    expect(segmentFiles(dir).length).toBeGreaterThan(0);
    expect(meter.stats().spooled).toBe(300);
    store.down = false;
    await meter.flush({ timeoutMs: 5_000 });
    expect(store.events.size).toBe(300);
    expect(store.doubled).toBe(0);
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('checks a batch whose insert outcome was unknown before sending it again, so nothing is doubled', async () => {
    const store = new MemoryStore();
    store.failAfterWrite = 2;
    const meter = await openMeter(store);
    const events = Array.from({ length: 150 }, () => event());
    for (const e of events) meter.record(e);
    await meter.flush({ timeoutMs: 5_000 });
    expect(store.events.size).toBe(150);
    expect(store.doubled).toBe(0);
    expect(store.calls.filter((c) => c.maybeStored).length).toBeGreaterThanOrEqual(2);
    expect(meter.stats().duplicatesSkipped).toBeGreaterThan(0);
    expect(new Set(store.calls.map((c) => c.writerId)).size).toBe(1);
  });

  it('treats a store that hangs without answering as an unknown outcome and carries on', async () => {
    const store = new MemoryStore();
    store.delayMs = 400;
    const meter = await openMeter(store, { insertTimeoutMs: 100 });
    meter.record(event());
    await waitFor(() => meter.stats().consecutiveFailures >= 1);
    store.delayMs = 0;
    await meter.flush({ timeoutMs: 5_000 });
    expect(store.events.size).toBe(1);
    expect(store.doubled).toBe(0);
  });

  it('replays the spool of an earlier run at start, checking ids first', async () => {
    const dir = spoolDir();
    const down = new MemoryStore();
    down.down = true;
    const first = await openMeter(down, { spoolDir: dir, closeTimeoutMs: 50 });
    const events = Array.from({ length: 250 }, () => event());
    for (const e of events) first.record(e);
    await first.close();
    expect(segmentFiles(dir).length).toBeGreaterThan(0);

    // Part of it reached the store before the crash: the replay must not double it.
    const store = new MemoryStore();
    for (const e of events.slice(0, 40)) store.events.set(e.eventId, e);
    const second = await openMeter(store, { spoolDir: dir });
    await second.flush({ timeoutMs: 5_000 });
    expect(store.events.size).toBe(250);
    expect(store.doubled).toBe(0);
    expect(store.calls.every((c) => c.maybeStored)).toBe(true);
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('skips a line torn by a crash mid-write and keeps the rest of that segment', async () => {
    const dir = spoolDir();
    const events = [event(), event()];
    writeFileSync(join(dir, '000000000007-abcdef.ndjson'), `${events.map(usageEventToJson).join('\n')}\n`);
    appendFileSync(join(dir, '000000000007-abcdef.ndjson'), usageEventToJson(event()).slice(0, 40));
    const store = new MemoryStore();
    const meter = await openMeter(store, { spoolDir: dir });
    await meter.flush({ timeoutMs: 5_000 });
    expect([...store.events.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
  });

  it('keeps memory bounded while the store is down: batches wait on disk and come back in order', async () => {
    const store = new MemoryStore();
    store.down = true;
    const meter = await openMeter(store, { maxQueued: 200, batchSize: 50 });
    const events = Array.from({ length: 2_000 }, () => event());
    for (let i = 0; i < events.length; i += 100) {
      for (const e of events.slice(i, i + 100)) meter.record(e);
      // flush() commits first; its timeout only ends the wait for the store, which is down.
      await meter.flush({ timeoutMs: 1 }).catch(() => {});
      // Once committed, only the bound stays in memory (the rest is on disk).
      expect(meter.stats().queued).toBeLessThanOrEqual(200);
    }
    expect(meter.stats().spooled).toBe(2_000);
    expect(meter.stats().dropped).toBe(0);
    store.down = false;
    await meter.flush({ timeoutMs: 10_000 });
    expect(store.events.size).toBe(2_000);
    expect(store.doubled).toBe(0);
  });

  it('bounds the spool on disk while the store is down: past its limit batches wait in memory, and none is lost', async () => {
    const store = new MemoryStore();
    store.down = true;
    const dir = spoolDir();
    const meter = await openMeter(store, { spoolDir: dir, spoolMaxBytes: 20_000, maxQueued: 1_000 });
    const events = Array.from({ length: 300 }, () => event());
    for (let i = 0; i < events.length; i += 20) {
      for (const e of events.slice(i, i + 20)) meter.record(e);
      await meter.flush({ timeoutMs: 1 }).catch(() => {});
    }
    const onDisk = segmentFiles(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    expect(onDisk).toBeGreaterThan(0);
    expect(onDisk).toBeLessThanOrEqual(20_000);
    // What the spool could not take is held in memory, within maxQueued.
    expect(meter.stats().spooled).toBeLessThan(300);
    expect(meter.stats().queued).toBeGreaterThan(0);
    expect(meter.stats().dropped).toBe(0);
    store.down = false;
    await meter.flush({ timeoutMs: 10_000 });
    expect(store.events.size).toBe(300);
    expect(store.doubled).toBe(0);
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('rejects flush() with a timeout while the store is down, leaving the events spooled', async () => {
    const store = new MemoryStore();
    store.down = true;
    const meter = await openMeter(store);
    meter.record(event());
    await expect(meter.flush({ timeoutMs: 100 })).rejects.toThrow(/within 100 ms/);
    expect(meter.stats().spooled).toBe(1);
  });

  it('spools an event recorded after close(), for the next start', async () => {
    const dir = spoolDir();
    const store = new MemoryStore();
    const meter = await openMeter(store, { spoolDir: dir });
    await meter.close();
    const late = event();
    meter.record(late);
    const next = await openMeter(store, { spoolDir: dir });
    await next.flush({ timeoutMs: 5_000 });
    expect(store.events.has(late.eventId)).toBe(true);
  });

  it('sets aside the events the store refuses and stores every other one of their batches', async () => {
    const store = new MemoryStore();
    store.refuses = (e) => e.requestedModel.includes('\u0000');
    const deadLetters = new MemoryDeadLetters();
    const meter = await openMeter(store, { deadLetters, batchSize: 100 });
    const events = Array.from({ length: 100 }, (_, i) => event({ requestedModel: [7, 50, 93].includes(i) ? 'acc\u0000poison' : 'm' }));
    for (const e of events) meter.record(e);
    await meter.flush({ timeoutMs: 5_000 });
    expect(store.events.size).toBe(97);
    expect([...deadLetters.letters.keys()].sort()).toEqual([events[7]!, events[50]!, events[93]!].map((e) => e.eventId).sort());
    expect(deadLetters.letters.get(events[7]!.eventId)!.error).toMatch(/unsupported Unicode escape sequence/);
    expect(meter.stats()).toMatchObject({ deadLettered: 3, stored: 97, spooled: 0, segments: 0, consecutiveFailures: 0 });
    // Splitting costs a few inserts per refused event, not one per event.
    expect(store.calls.length).toBeLessThan(40);
  });

  it('drains a spool left by an earlier run that holds a refused event', async () => {
    const dir = spoolDir();
    const poisoned = event({ requestedModel: 'acc\u0000poison' });
    const good = [event(), event()];
    writeFileSync(join(dir, '000000000001-abcdef.ndjson'), `${[good[0]!, poisoned, good[1]!].map(usageEventToJson).join('\n')}\n`);
    const store = new MemoryStore();
    store.refuses = (e) => e.requestedModel.includes('\u0000');
    const deadLetters = new MemoryDeadLetters();
    const meter = await openMeter(store, { spoolDir: dir, deadLetters });
    await meter.flush({ timeoutMs: 5_000 });
    expect([...store.events.keys()].sort()).toEqual(good.map((e) => e.eventId).sort());
    expect(deadLetters.letters.get(poisoned.eventId)!.event.requestedModel).toBe('acc\u0000poison');
    expect(readdirSync(dir).filter((name) => name.endsWith('.ndjson'))).toEqual([]);
  });

  it('retries the whole batch when the store goes down while a refused batch is split', async () => {
    const store = new MemoryStore();
    let refusals = 0;
    store.refuses = (e) => {
      if (!e.requestedModel.includes('\u0000')) return false;
      refusals += 1;
      // The second half is refused, then its split meets an outage, which is retried, not set aside.
      if (refusals === 2) store.down = true;
      return true;
    };
    const deadLetters = new MemoryDeadLetters();
    const meter = await openMeter(store, { deadLetters });
    // The first half is stored before the outage: the retry must not write it twice.
    const events = Array.from({ length: 10 }, (_, i) => event({ requestedModel: i === 8 ? 'acc\u0000poison' : 'm' }));
    for (const e of events) meter.record(e);
    await vi.waitFor(() => expect(meter.stats().consecutiveFailures).toBeGreaterThan(0));
    expect(deadLetters.letters.size).toBe(0);
    store.down = false;
    await meter.flush({ timeoutMs: 5_000 });
    expect(store.events.size).toBe(9);
    expect(store.doubled).toBe(0);
    expect([...deadLetters.letters.keys()]).toEqual([events[8]!.eventId]);
  });
});
