import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { redisTargets as redisTargetsUnderTest } from '../../../test/testkit/redis-targets.ts';
import { serviceUrl } from '../../../test/testkit/services.ts';
import { randomId } from '../../shared/ids.ts';
import type { AdmitInput, AdmitOutcome, LimiterStore, LimitSpec, QuotaSpec } from './limiter-store.ts';
import { MemoryLimiterStore } from './memory-limiter-store.ts';
import { RedisLimiterStore } from './redis-limiter-store.ts';

// One contract over both stores: the same admissions give the same answers in memory and in Redis.

interface StoreUnderTest {
  name: string;
  /** generatedRequestIdTtlMs: as requestIdTtlMs (an hour) unless given. */
  create(now: () => number, generatedRequestIdTtlMs?: number): LimiterStore;
}

const redisUrl = serviceUrl('REDIS');
const connections: Redis[] = [];
const redisTargets = redisTargetsUnderTest();

const stores: StoreUnderTest[] = [
  { name: 'memory', create: (now, generatedRequestIdTtlMs) => new MemoryLimiterStore({ requestIdTtlMs: 3_600_000, generatedRequestIdTtlMs, now }) },
];
for (const target of redisTargets) {
  stores.push({
    name: target.name,
    create: (now, generatedRequestIdTtlMs) =>
      new RedisLimiterStore({ redis: target.client(), keyPrefix: `test:limits:${randomId(8)}:`, requestIdTtlMs: 3_600_000, generatedRequestIdTtlMs, now }),
  });
}

afterAll(async () => {
  await Promise.all(connections.map((redis) => redis.quit()));
  await Promise.all(redisTargets.map((target) => target.closeAll()));
});

const realNow = Date.now();
const month = new Date(realNow);
const period = `${month.getUTCFullYear()}${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
const noQuota: QuotaSpec = { period, expiresAtMs: Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 2), tokenLimit: 0, hardTokens: false, requestLimit: 0 };

const rpm = (limit: number, scope: 'tenant' | 'key' = 'tenant'): LimitSpec => ({ kind: 'requests', scope, name: 'rpm', limit, windowMs: 60_000 });
const tpm = (limit: number, scope: 'tenant' | 'key' = 'tenant'): LimitSpec => ({ kind: 'tokens', scope, name: 'tpm', limit, windowMs: 60_000 });
const conc = (limit: number, leaseMs = 600_000): LimitSpec => ({ kind: 'concurrency', scope: 'tenant', name: 'conc', limit, windowMs: leaseMs });

describe.each(stores)('limiter store: $name', ({ create }) => {
  let now: number;
  let store: LimiterStore;
  let tenantId: string;
  let n = 0;

  beforeEach(() => {
    now = realNow;
    store = create(() => now);
    tenantId = `tnt_${randomId(8)}`;
  });

  const admit = (specs: LimitSpec[], overrides: Partial<AdmitInput> = {}) => {
    n += 1;
    return store.admit({
      tenantId,
      apiKeyId: null,
      requestId: `req-${n}`,
      admissionId: `adm-${n}`,
      estimate: 0,
      specs,
      quota: noQuota,
      requireSeed: false,
      ...overrides,
    });
  };

  it('answers "stale", counting nothing, to an admission made with limits older than the last change', async () => {
    const before = await store.limitsVersion(tenantId);
    expect((await admit([rpm(1)], { limitsVersion: before })).status).toBe('admitted');
    await store.bumpLimitsVersion(tenantId);
    const after = await store.limitsVersion(tenantId);
    expect(after).not.toBe(before);
    // In one turn: the stale admission is told so, the current one counts alone.
    const [stale, current] = await Promise.all([admit([rpm(2)], { limitsVersion: before }), admit([rpm(2)], { limitsVersion: after })]);
    expect(stale).toEqual({ status: 'stale' });
    expect(current).toMatchObject({ status: 'admitted', states: [{ limit: 2, remaining: 0 }] });
    // Unchecked, as after a second change racing the first.
    expect(await admit([rpm(3)])).toMatchObject({ status: 'admitted', states: [{ limit: 3, remaining: 0 }] });
    expect(await store.limitsVersion(`tnt_${randomId(8)}`)).toBe('0');
  });

  it('admits up to the limit within a window and says when the oldest entry frees a slot', async () => {
    for (let i = 0; i < 3; i++) {
      const outcome = await admit([rpm(3)]);
      expect(outcome.status).toBe('admitted');
      if (outcome.status === 'admitted') expect(outcome.states[0]).toEqual({ limit: 3, remaining: 2 - i, resetMs: 60_000 });
      now += 10_000;
    }
    const refused = await admit([rpm(3)]);
    expect(refused).toMatchObject({ status: 'refused', reason: 'limit', spec: 0, retryAfterMs: 30_000 });
    if (refused.status === 'refused') expect(refused.states[0]).toEqual({ limit: 3, remaining: 0, resetMs: 50_000 });
  });

  it('is an exact sliding window: no 60 s span ever holds more than the limit', async () => {
    expect((await admit([rpm(2)])).status).toBe('admitted');
    now += 30_000;
    expect((await admit([rpm(2)])).status).toBe('admitted');
    now += 29_999;
    expect((await admit([rpm(2)])).status).toBe('refused');
    now += 1;
    expect((await admit([rpm(2)])).status).toBe('admitted');
    expect((await admit([rpm(2)])).status).toBe('refused');
    now += 30_000;
    expect((await admit([rpm(2)])).status).toBe('admitted');
  });

  it('reserves estimated tokens and settles them to the actual count', async () => {
    const first = await admit([tpm(1_000)], { estimate: 400, requestId: 'a', admissionId: 'a1' });
    expect(first.status).toBe('admitted');
    if (first.status === 'admitted') expect(first.states[0]).toMatchObject({ limit: 1_000, remaining: 600 });
    expect((await admit([tpm(1_000)], { estimate: 400 })).status).toBe('admitted');
    const refused = await admit([tpm(1_000)], { estimate: 400 });
    expect(refused).toMatchObject({ status: 'refused', spec: 0, retryAfterMs: 60_000 });
    await store.settle({ tenantId, apiKeyId: null, requestId: 'a', admissionId: 'a1', reserved: 400, actual: 100, specs: [tpm(1_000)], quota: noQuota });
    const after = await admit([tpm(1_000)], { estimate: 400 });
    expect(after.status).toBe('admitted');
    if (after.status === 'admitted') expect(after.states[0]!.remaining).toBe(100);
  });

  it('gives a failed request its whole reservation back, and a settlement twice changes nothing more', async () => {
    await admit([tpm(500)], { estimate: 500, requestId: 'f', admissionId: 'f1' });
    expect((await admit([tpm(500)], { estimate: 1 })).status).toBe('refused');
    const settle = { tenantId, apiKeyId: null, requestId: 'f', admissionId: 'f1', reserved: 500, actual: 0, specs: [tpm(500)], quota: noQuota };
    await store.settle(settle);
    await store.settle(settle);
    const peek = await store.peek(tenantId, null, [tpm(500)]);
    expect(peek[0]!.remaining).toBe(500);
  });

  it('refuses a request larger than the whole window for a full window', async () => {
    expect(await admit([tpm(100)], { estimate: 101 })).toMatchObject({ status: 'refused', retryAfterMs: 60_000 });
  });

  it('waits for as many old entries as it takes to make room for a large request', async () => {
    await admit([tpm(1_000)], { estimate: 300 });
    now += 10_000;
    await admit([tpm(1_000)], { estimate: 300 });
    now += 10_000;
    await admit([tpm(1_000)], { estimate: 300 });
    // 900 used; 700 more needs the first two entries gone: the second leaves at t = 10 s + 60 s.
    expect(await admit([tpm(1_000)], { estimate: 700 })).toMatchObject({ status: 'refused', retryAfterMs: 50_000 });
  });

  it('counts a window right after a pause that left most or all of it expired', async () => {
    const specs = [rpm(100), tpm(10_000)];
    for (let i = 0; i < 10; i += 1) {
      await admit(specs, { estimate: 100, requestId: `p${i}`, admissionId: `p${i}` });
      now += 1_000;
    }
    // The last one used 40 of its 100 tokens.
    await store.settle({ tenantId, apiKeyId: null, requestId: 'p9', admissionId: 'p9', reserved: 100, actual: 40, specs, quota: noQuota });
    // 58 s after the last: the entries of the first 8 s have expired, those of 100 and 40 tokens are left.
    now += 57_000;
    const mostly = await admit(specs, { estimate: 100 });
    expect(mostly.status === 'admitted' && mostly.states.map((state) => state.remaining)).toEqual([97, 9_760]);
    now += 61_000;
    const all = await admit(specs, { estimate: 100 });
    expect(all.status === 'admitted' && all.states.map((state) => state.remaining)).toEqual([99, 9_900]);
    expect((await store.peek(tenantId, null, specs)).map((state) => state.remaining)).toEqual([99, 9_900]);
  });

  it('finds the entry that makes room deep in a long window', async () => {
    // 150 requests a millisecond apart, each entered in both windows.
    const specs = [rpm(150), tpm(1_500)];
    for (let i = 0; i < 150; i += 1) {
      await admit(specs, { estimate: 10 });
      now += 1;
    }
    // Room for 700 tokens needs the 70th entry gone (10 tokens each), past the first page of 64.
    expect(await admit([tpm(1_500)], { estimate: 700 })).toMatchObject({ status: 'refused', retryAfterMs: 60_000 + 69 - 150 });
    // Room for one more request needs the oldest gone, or under a limit of 100 the 51st.
    expect(await admit(specs)).toMatchObject({ status: 'refused', spec: 0, retryAfterMs: 60_000 - 150 });
    expect(await admit([rpm(100), tpm(1_500)])).toMatchObject({ status: 'refused', spec: 0, retryAfterMs: 60_000 + 50 - 150 });
  });

  it('holds a concurrency slot until settlement, or until its lease runs out', async () => {
    const spec = conc(2, 5_000);
    await admit([spec], { requestId: 'c1', admissionId: 'c1' });
    await admit([spec], { requestId: 'c2', admissionId: 'c2' });
    expect(await admit([spec])).toMatchObject({ status: 'refused', spec: 0, retryAfterMs: 1_000 });
    await store.settle({ tenantId, apiKeyId: null, requestId: 'c1', admissionId: 'c1', reserved: 0, actual: 0, specs: [spec], quota: noQuota });
    expect((await admit([spec], { requestId: 'c3', admissionId: 'c3' })).status).toBe('admitted');
    expect((await admit([spec])).status).toBe('refused');
    now += 5_001;
    expect((await admit([spec])).status).toBe('admitted');
  });

  it('is all or nothing: a refusal by one limit consumes none of the others', async () => {
    const specs = [rpm(10), tpm(100)];
    await admit(specs, { estimate: 80 });
    expect((await admit(specs, { estimate: 80 })).status).toBe('refused');
    const [requests, tokens] = await store.peek(tenantId, null, specs);
    expect(requests!.remaining).toBe(9);
    expect(tokens!.remaining).toBe(20);
  });

  it('counts an API key apart from its tenant, and the tenant across its keys', async () => {
    const specs = [rpm(3), rpm(1, 'key')];
    expect((await admit(specs, { apiKeyId: 'k1' })).status).toBe('admitted');
    expect(await admit(specs, { apiKeyId: 'k1' })).toMatchObject({ status: 'refused', spec: 1 });
    expect((await admit(specs, { apiKeyId: 'k2' })).status).toBe('admitted');
    expect((await admit(specs, { apiKeyId: 'k3' })).status).toBe('admitted');
    expect(await admit(specs, { apiKeyId: 'k4' })).toMatchObject({ status: 'refused', spec: 0 });
  });

  it("keeps counting a key's requests when its tokens limit comes or goes", async () => {
    const alone = [rpm(100), tpm(1_000_000), rpm(2, 'key')];
    const withTokens = [...alone, tpm(1_000, 'key')];
    expect((await admit(alone, { apiKeyId: 'k1', estimate: 10 })).status).toBe('admitted');
    expect((await admit(withTokens, { apiKeyId: 'k1', estimate: 10 })).status).toBe('admitted');
    expect(await admit(withTokens, { apiKeyId: 'k1', estimate: 10 })).toMatchObject({ status: 'refused', spec: 2 });
    expect(await admit(alone, { apiKeyId: 'k1', estimate: 10 })).toMatchObject({ status: 'refused', spec: 2 });
  });

  it('answers admissions made in one turn exactly as if they came one by one', async () => {
    const specs = [rpm(3), tpm(1_000), rpm(2, 'key')];
    const states = (outcome: AdmitOutcome) => 'states' in outcome && outcome.states.map((state) => state.remaining);
    const outcomes = await Promise.all([
      admit(specs, { apiKeyId: 'k1', estimate: 300 }),
      admit(specs, { apiKeyId: 'k1', estimate: 300 }),
      admit(specs, { apiKeyId: 'k1', estimate: 300 }),
      admit(specs, { apiKeyId: 'k2', estimate: 300 }),
      admit(specs, { apiKeyId: 'k3', estimate: 50 }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['admitted', 'admitted', 'refused', 'admitted', 'refused']);
    expect(outcomes.map(states)).toEqual([
      [2, 700, 1],
      [1, 400, 0],
      [1, 400, 0],
      [0, 100, 1],
      [0, 100, 2],
    ]);
    expect(outcomes[2]).toMatchObject({ spec: 2, retryAfterMs: 60_000 });
    expect(outcomes[4]).toMatchObject({ spec: 0, retryAfterMs: 60_000 });
    // What the turn wrote stays written: its entries, its token sum and its expiries.
    now += 30_000;
    expect(await admit(specs, { apiKeyId: 'k4', estimate: 0 })).toMatchObject({ status: 'refused', spec: 0, retryAfterMs: 30_000 });
    expect(await store.peek(tenantId, 'k1', specs)).toEqual([
      { limit: 3, remaining: 0, resetMs: 30_000 },
      { limit: 1_000, remaining: 100, resetMs: 30_000 },
      { limit: 2, remaining: 0, resetMs: 30_000 },
    ]);
    now += 30_001;
    expect(await admit(specs, { apiKeyId: 'k1', estimate: 1_000 })).toMatchObject({ status: 'admitted' });
  });

  describe('monthly quota', () => {
    const hard: QuotaSpec = { ...noQuota, tokenLimit: 1_000, hardTokens: true };

    it('asks to be seeded first, and seeds only once', async () => {
      expect(await admit([], { quota: hard, requireSeed: true })).toEqual({ status: 'unseeded' });
      await store.seedQuota(tenantId, hard, { tokens: 300, requests: 7 });
      await store.seedQuota(tenantId, hard, { tokens: 999, requests: 99 });
      const outcome = await admit([], { quota: hard, requireSeed: true });
      expect(outcome).toMatchObject({ status: 'admitted', quota: { seeded: true, tokens: 300, requests: 8 } });
      expect(await store.readQuota(tenantId, period)).toEqual({ seeded: true, tokens: 300, requests: 8 });
    });

    it('refuses a hard quota once used, and lets a soft one run over', async () => {
      await store.seedQuota(tenantId, hard, { tokens: 0, requests: 0 });
      await admit([], { quota: hard, requestId: 'q1' });
      await store.settle({ tenantId, apiKeyId: null, requestId: 'q1', admissionId: 'x', reserved: 0, actual: 999, specs: [], quota: hard });
      expect((await admit([], { quota: hard, requestId: 'q2' })).status).toBe('admitted');
      await store.settle({ tenantId, apiKeyId: null, requestId: 'q2', admissionId: 'y', reserved: 0, actual: 50, specs: [], quota: hard });
      const refused = await admit([], { quota: hard });
      expect(refused).toMatchObject({ status: 'refused', reason: 'quota_tokens', spec: -1, quota: { tokens: 1_049 } });
      if (refused.status === 'refused') expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect((await admit([], { quota: { ...hard, hardTokens: false } })).status).toBe('admitted');
    });

    it('counts requests of one turn against the month in order, a repeated request id once', async () => {
      const capped: QuotaSpec = { ...noQuota, requestLimit: 3 };
      await store.seedQuota(tenantId, capped, { tokens: 0, requests: 1 });
      const outcomes = await Promise.all(['a', 'a', 'b', 'c'].map((requestId) => admit([], { quota: capped, requestId, requireSeed: true })));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['admitted', 'admitted', 'admitted', 'refused']);
      expect(outcomes[2]).toMatchObject({ quota: { requests: 3 } });
      expect(outcomes[3]).toMatchObject({ reason: 'quota_requests', quota: { requests: 3 } });
      expect(await store.readQuota(tenantId, period)).toMatchObject({ requests: 3 });
    });

    it('caps requests per month, counting a retried request id once', async () => {
      const capped: QuotaSpec = { ...noQuota, requestLimit: 2 };
      await store.seedQuota(tenantId, capped, { tokens: 0, requests: 1 });
      expect((await admit([], { quota: capped, requestId: 'same' })).status).toBe('admitted');
      expect((await admit([], { quota: capped, requestId: 'same' })).status).toBe('admitted');
      expect(await admit([], { quota: capped, requestId: 'other' })).toMatchObject({ status: 'refused', reason: 'quota_requests' });
      expect(await store.readQuota(tenantId, period)).toMatchObject({ requests: 2 });
    });

    it('remembers a request id it minted for a shorter time than one the client sent', async () => {
      const capped: QuotaSpec = { ...noQuota, requestLimit: 1_000 };
      const shortMemory = create(() => now, 100);
      await shortMemory.seedQuota(tenantId, capped, { tokens: 0, requests: 0 });
      const admitBoth = () =>
        Promise.all(
          (['minted', 'sent'] as const).map((requestId) =>
            shortMemory.admit({ tenantId, apiKeyId: null, requestId, requestIdGiven: requestId === 'sent', admissionId: randomId(6), estimate: 0, specs: [], quota: capped, requireSeed: true }),
          ),
        );
      const admitEchoed = (requestIdGiven: boolean) =>
        shortMemory.admit({ tenantId, apiKeyId: null, requestId: 'echoed', requestIdGiven, admissionId: randomId(6), estimate: 0, specs: [], quota: capped, requireSeed: true });
      await admitBoth();
      await admitBoth();
      // An id minted here that the client then sends back as its own is the same request.
      await admitEchoed(false);
      await admitEchoed(true);
      expect(await shortMemory.readQuota(tenantId, period)).toMatchObject({ requests: 3 });
      // Redis expires keys by its own clock, the memory store by the one given.
      now += 150;
      await new Promise((resolve) => setTimeout(resolve, 150));
      await admitBoth();
      expect(await shortMemory.readQuota(tenantId, period)).toMatchObject({ requests: 4 });
    });

    it('counts a request id once when the client retries it, keeping the larger count', async () => {
      await store.seedQuota(tenantId, noQuota, { tokens: 0, requests: 0 });
      const settle = (admissionId: string, actual: number) =>
        store.settle({ tenantId, apiKeyId: null, requestId: 'retry-me', admissionId, reserved: 0, actual, specs: [], quota: noQuota });
      await settle('a', 0);
      await settle('b', 120);
      await settle('c', 120);
      await settle('d', 80);
      expect(await store.readQuota(tenantId, period)).toMatchObject({ tokens: 120 });
    });

    it('counts a request whose admission failed (served while limits failed open) at its settlement, once', async () => {
      await store.seedQuota(tenantId, noQuota, { tokens: 0, requests: 0 });
      await admit([], { requestId: 'admitted' });
      const settle = (requestId: string, actual: number, unadmitted?: boolean) =>
        store.settle({ tenantId, apiKeyId: null, requestId, admissionId: requestId, reserved: 0, actual, specs: [], quota: noQuota, unadmitted });
      expect((await settle('admitted', 10, true)).quota).toMatchObject({ tokens: 10, requests: 1 });
      expect((await settle('failed-open', 20, true)).quota).toMatchObject({ tokens: 30, requests: 2 });
      expect((await settle('failed-open', 20, true)).quota).toMatchObject({ tokens: 30, requests: 2 });
      // A request refused after it was answered early is settled too: its admission was refused, not lost.
      expect((await settle('refused-late', 5)).quota).toMatchObject({ tokens: 35, requests: 2 });
      // The admission of a request that failed open arriving after all (it was held back) does not count it again.
      expect(await admit([], { requestId: 'failed-open' })).toMatchObject({ status: 'admitted', quota: { requests: 2 } });
      expect(await store.readQuota(tenantId, period)).toMatchObject({ tokens: 35, requests: 2 });
    });

    it('reports each alert threshold once, the first time it is crossed', async () => {
      const spec: QuotaSpec = { ...noQuota, tokenLimit: 1_000 };
      await store.seedQuota(tenantId, spec, { tokens: 100, requests: 0 });
      const settle = (requestId: string, actual: number) =>
        store.settle({ tenantId, apiKeyId: null, requestId, admissionId: requestId, reserved: 0, actual, specs: [], quota: spec });
      expect((await settle('s1', 600)).crossed).toEqual([]);
      expect((await settle('s2', 100)).crossed).toEqual([80]);
      expect((await settle('s3', 100)).crossed).toEqual([]);
      expect((await settle('s4', 500)).crossed).toEqual([100]);
      expect((await settle('s5', 500)).crossed).toEqual([]);
    });

    it('reports a crossing again when the settlement that crossed it is settled again (its reply was lost), and counts it once', async () => {
      const spec: QuotaSpec = { ...noQuota, tokenLimit: 1_000 };
      await store.seedQuota(tenantId, spec, { tokens: 700, requests: 0 });
      const settle = (admissionId: string, actual: number) =>
        store.settle({ tenantId, apiKeyId: null, requestId: admissionId, admissionId, reserved: 0, actual, specs: [], quota: spec });
      expect((await settle('crossing', 150)).crossed).toEqual([80]);
      expect((await settle('crossing', 150)).crossed).toEqual([80]);
      expect((await settle('later', 50)).crossed).toEqual([]);
      expect((await settle('crossing', 150)).crossed).toEqual([80]);
      expect(await store.readQuota(tenantId, period)).toMatchObject({ tokens: 900 });
    });

    it('treats thresholds already behind at seeding as alerted', async () => {
      const spec: QuotaSpec = { ...noQuota, tokenLimit: 1_000 };
      await store.seedQuota(tenantId, spec, { tokens: 850, requests: 0 });
      const outcome = await store.settle({ tenantId, apiKeyId: null, requestId: 'r', admissionId: 'r', reserved: 0, actual: 200, specs: [], quota: spec });
      expect(outcome.crossed).toEqual([100]);
    });
  });
});

describe.each(redisTargets)('redis limiter store across instances: $name', (target) => {
  it('admits exactly the limit when two stores on two connections race for it', async () => {
    const prefix = `test:limits:${randomId(8)}:`;
    const storeA = new RedisLimiterStore({ redis: target.client(), keyPrefix: prefix, requestIdTtlMs: 60_000 });
    const storeB = new RedisLimiterStore({ redis: target.client(), keyPrefix: prefix, requestIdTtlMs: 60_000 });
    const outcomes = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        (i % 2 ? storeA : storeB).admit({
          tenantId: 'tnt_race',
          apiKeyId: null,
          requestId: `r${i}`,
          admissionId: `a${i}`,
          estimate: 10,
          specs: [rpm(60), tpm(100_000)],
          quota: noQuota,
          requireSeed: false,
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'admitted')).toHaveLength(60);
  });
});

describe.runIf(redisUrl)('redis limiter store: the settlements of one turn travel together', () => {
  const specs = [rpm(100), tpm(10_000), conc(5)];
  const quota: QuotaSpec = { ...noQuota, tokenLimit: 1_000 };

  /** A store on a connection configured as the app's, four admissions made, and its script calls counted. */
  const setup = async (flushIntervalMs = 0) => {
    const redis = new Redis(redisUrl!, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    connections.push(redis);
    await new Promise((resolve) => redis.once('ready', resolve));
    const store = new RedisLimiterStore({ redis, keyPrefix: `test:limits:${randomId(8)}:`, requestIdTtlMs: 60_000, flushIntervalMs });
    const tenantId = `tnt_${randomId(8)}`;
    await store.seedQuota(tenantId, quota, { tokens: 0, requests: 0 });
    for (let i = 0; i < 4; i++) {
      await store.admit({ tenantId, apiKeyId: null, requestId: `r${i}`, admissionId: `a${i}`, estimate: 500, specs, quota, requireSeed: true });
    }
    const scripts = { sent: 0 };
    const sendCommand = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, stream) => {
      if (command.name.startsWith('eval')) scripts.sent += 1;
      return sendCommand(command, stream);
    };
    const settle = (i: number, actual: number, lazy = false) =>
      store.settle({ tenantId, apiKeyId: null, requestId: `r${i}`, admissionId: `a${i}`, reserved: 500, actual, specs, quota, lazy });
    const admit = (i: number, lazy: boolean) =>
      store.admit({ tenantId, apiKeyId: null, requestId: `r${i}`, admissionId: `a${i}`, estimate: 500, specs, quota, requireSeed: true, lazy });
    return { redis, store, tenantId, settle, admit, scripts };
  };

  it('holds lazy admissions and settlements back for the flush interval, unless a waited-for admission takes them along', async () => {
    const { store, tenantId, settle, admit, scripts } = await setup(300);
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const settled = settle(0, 300, true);
    await turn();
    const lazy = admit(4, true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(scripts.sent).toBe(0);
    // A verdict someone waits for goes at the end of its turn, with what was held: the settlement first.
    expect((await admit(5, false)).status).toBe('admitted');
    expect(scripts.sent).toBe(2);
    expect((await settled).quota.tokens).toBe(300);
    expect(await lazy).toMatchObject({ status: 'admitted', quota: { requests: 5 } });
    const started = Date.now();
    await settle(1, 200, true);
    expect(scripts.sent).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // close() sends what is still held.
    const last = settle(2, 100, true);
    await store.close();
    expect((await last).quota.tokens).toBe(600);
    expect(await store.readQuota(tenantId, period)).toMatchObject({ tokens: 600, requests: 6 });
  });

  it('sends what it holds back at the end of the turn when asked, whatever the flush interval', async () => {
    const { store, settle, admit, scripts } = await setup(60_000);
    const settled = settle(0, 300, true);
    const admitted = admit(4, true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(scripts.sent).toBe(0);
    store.sendHeld();
    expect((await settled).quota.tokens).toBe(300);
    expect(await admitted).toMatchObject({ status: 'admitted', quota: { requests: 5 } });
    expect(scripts.sent).toBe(2);
  });

  it('settles each exactly once and in order, in one script call, with the thresholds each crossed', async () => {
    const { store, tenantId, settle, scripts } = await setup();
    // a1 settled twice (a retry after a lost reply): counted once, and its crossing reported again
    const outcomes = await Promise.all([settle(0, 300), settle(1, 500), settle(2, 100), settle(1, 500)]);
    expect(scripts.sent).toBe(1);
    expect(outcomes.map((o) => [o.quota.tokens, o.crossed])).toEqual([
      [300, []],
      [800, [80]],
      [900, []],
      [900, [80]],
    ]);
    expect(await store.readQuota(tenantId, period)).toMatchObject({ tokens: 900, requests: 4 });
    const [requests, tokens, slots] = await store.peek(tenantId, null, specs);
    expect(requests!.remaining).toBe(96);
    expect(tokens!.remaining).toBe(10_000 - 300 - 500 - 100 - 500);
    expect(slots!.remaining).toBe(4);
  });

  it('sends the settlements made before a read ahead of it', async () => {
    const { store, tenantId, settle } = await setup();
    const settled = settle(0, 850);
    expect(await store.readQuota(tenantId, period)).toMatchObject({ tokens: 850 });
    expect((await settled).crossed).toEqual([80]);
  });

  it('drops leases whose settlement never came when it settles others', async () => {
    const redis = new Redis(redisUrl!);
    connections.push(redis);
    let now = realNow;
    const prefix = `test:limits:${randomId(8)}:`;
    const store = new RedisLimiterStore({ redis, keyPrefix: prefix, requestIdTtlMs: 60_000, now: () => now });
    const lease = [conc(5, 1_000)];
    const admit = (id: string) => store.admit({ tenantId: 't', apiKeyId: null, requestId: id, admissionId: id, estimate: 0, specs: lease, quota: noQuota, requireSeed: false });
    await admit('lost');
    now += 1_001;
    await admit('kept');
    expect(await redis.zcard(`${prefix}rl:{t}:conc`)).toBe(2);
    await admit('done');
    await store.settle({ tenantId: 't', apiKeyId: null, requestId: 'done', admissionId: 'done', reserved: 0, actual: 0, specs: lease, quota: noQuota });
    expect(await redis.zrange(`${prefix}rl:{t}:conc`, '0', '-1')).toEqual(['kept']);
  });

  it('rejects every settlement of a batch that fails; settled again, each counts once', async () => {
    const { redis, store, tenantId, settle } = await setup();
    const first = settle(0, 300);
    const second = settle(1, 600);
    redis.disconnect();
    await expect(first).rejects.toThrow();
    await expect(second).rejects.toThrow();
    if (redis.status !== 'end') await new Promise((resolve) => redis.once('end', resolve));
    await redis.connect();
    expect((await Promise.all([settle(0, 300), settle(1, 600)])).map((o) => o.crossed)).toEqual([[], [80]]);
    await settle(0, 300);
    expect(await store.readQuota(tenantId, period)).toMatchObject({ tokens: 900 });
  });
});
