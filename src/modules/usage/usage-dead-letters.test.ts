import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, sqlDialects } from '../../../test/testkit/sql-databases.ts';
import { usageStores } from '../../../test/testkit/usage-stores.ts';
import { UsageDeadLetters } from './usage-dead-letters.ts';
import { newUsageEvent } from './usage-event.ts';
import type { UsageStore } from './usage-store.ts';

// Dead letters live on the SQL database whichever store holds usage; a replay goes into that store.

const pglite = sqlDialects().find((d) => d.name === 'pglite')!;

describe.each(usageStores())('usage dead letters replayed into $name', (underTest) => {
  let store: UsageStore;
  let deadLetters: UsageDeadLetters;
  const disposers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const created = await underTest.create();
    store = created.store;
    disposers.push(created.dispose);
    const sql = await openMigrated(pglite);
    disposers.push(sql.dispose);
    deadLetters = new UsageDeadLetters(sql.handle.db);
  }, 60_000);
  afterAll(async () => {
    for (const dispose of disposers.reverse()) await dispose();
  });

  const event = (tenantId: string, requestedModel: string) => newUsageEvent({ requestId: `req-${tenantId}`, tenantId, requestedModel, kind: 'chat', node: 'n', promptTokens: 4 });

  it('keeps a refused event exactly, NUL byte and lone surrogate included', async () => {
    const poisoned = { ...event('t-keep', 'acc\u0000poison'), userId: 'user-\ud800' };
    await deadLetters.add([{ event: poisoned, error: 'unsupported Unicode escape sequence \u0000' }], store.kind);
    const [letter] = (await deadLetters.list()).filter((l) => l.tenantId === 't-keep');
    expect(letter!.event).toEqual(poisoned);
    expect(letter!.error).toBe('unsupported Unicode escape sequence \uFFFD');
    expect(letter!.failures).toBe(1);
  });

  it('stores a replayed event once, however many times it is replayed', async () => {
    const fixed = event('t-replay', 'chat-model');
    for (let round = 0; round < 2; round += 1) {
      // Refused again (a batch retried after an outage), then replayed again.
      await deadLetters.add([{ event: fixed, error: 'usage insert failed' }], store.kind);
      expect(await deadLetters.replay(store, { eventIds: [fixed.eventId] })).toEqual({ replayed: [fixed.eventId], failed: [], missing: [] });
    }
    expect(await store.events({ tenantId: 't-replay', range: null, filter: {}, limit: 10, after: null })).toEqual([fixed]);
    expect((await deadLetters.list()).some((l) => l.eventId === fixed.eventId)).toBe(false);
    expect((await deadLetters.list({ all: true })).find((l) => l.eventId === fixed.eventId)).toMatchObject({ failures: 2, replayedAt: expect.any(Date) });
    // Replayed already: asking for it again names it as not waiting.
    expect(await deadLetters.replay(store, { eventIds: [fixed.eventId] })).toEqual({ replayed: [], failed: [], missing: [fixed.eventId] });
  });

  it('leaves a letter the store still refuses listed, with the new error counted', async () => {
    const poisoned = { ...event('t-still', 'm'), userId: 'user-\ud800' };
    await deadLetters.add([{ event: poisoned, error: 'first refusal' }], store.kind);
    const result = await deadLetters.replay(store, { eventIds: [poisoned.eventId] });
    expect(result.replayed).toEqual([]);
    expect(result.failed.map((f) => f.eventId)).toEqual([poisoned.eventId]);
    const letter = (await deadLetters.list()).find((l) => l.eventId === poisoned.eventId)!;
    expect(letter.failures).toBe(2);
    expect(letter.error).not.toBe('first refusal');
    expect(await store.events({ tenantId: 't-still', range: null, filter: {}, limit: 10, after: null })).toEqual([]);
  });
});
