import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLocalBroadcast } from '../../shared/broadcast.ts';
import { DomainError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/logger.ts';
import type { CompletionCaller } from '../completion/completion-caller.ts';
import type { PlanRow } from '../plan/plan.table.ts';
import { QuotaEvents } from '../quota/quota-events.ts';
import type { QuotaView } from '../quota/quota-view.ts';
import { QuotaService } from '../quota/quota.service.ts';
import type { UsageReport } from '../usage/usage-store.ts';
import { zeroTotals } from '../usage/usage-report.ts';
import type { LimiterStore } from './limiter-store.ts';
import { effectiveLimits, type EffectiveLimits } from './limits-directory.ts';
import { LimitRefusal, LimitsGate } from './limits-gate.ts';
import { LimitsMetrics } from './limits-metrics.ts';
import { MemoryLimiterStore } from './memory-limiter-store.ts';

const plan = (overrides: Partial<PlanRow>): PlanRow => ({
  id: 'free',
  name: 'Free',
  monthly_tokens: 100_000,
  requests_per_minute: 10,
  tokens_per_minute: 10_000,
  requests_per_hour: null,
  requests_per_month: null,
  concurrent_requests: 4,
  hard_quota: true,
  retired_at: null,
  created_at: new Date(),
  updated_at: new Date(),
  ...overrides,
});

/** A store that can be made to fail like an unreachable Redis. */
class BreakableStore implements LimiterStore {
  readonly kind = 'memory' as const;
  readonly inner = new MemoryLimiterStore({ requestIdTtlMs: 60_000 });
  down = false;
  settlements = 0;
  /** Settlements that land but whose reply is lost, as on a timeout after Redis ran the script. */
  loseReplies = 0;
  /** Each settlement also reports the crossings of the one before, as a retried settlement does. */
  echoCrossings = false;
  #lastCrossed: number[] = [];
  /** While set, admissions wait for it: a verdict still on its way. */
  held: Promise<void> | undefined;
  #check() {
    if (this.down) throw new Error('Stream isn\'t writeable and enableOfflineQueue options is false');
  }
  admit: LimiterStore['admit'] = async (input) => {
    await this.held;
    this.#check();
    return this.inner.admit(input);
  };
  settle: LimiterStore['settle'] = async (input) => {
    this.#check();
    this.settlements += 1;
    this.lastSettlementLazy = input.lazy;
    const settled = await this.inner.settle(input);
    const outcome = this.echoCrossings ? { ...settled, crossed: [...new Set([...this.#lastCrossed, ...settled.crossed])] } : settled;
    this.#lastCrossed = settled.crossed;
    if (this.loseReplies > 0) {
      this.loseReplies -= 1;
      throw new Error('Command timed out');
    }
    return outcome;
  };
  seedQuota: LimiterStore['seedQuota'] = async (...args) => (this.#check(), this.inner.seedQuota(...args));
  readQuota: LimiterStore['readQuota'] = async (...args) => (this.#check(), this.inner.readQuota(...args));
  peek: LimiterStore['peek'] = async (...args) => (this.#check(), this.inner.peek(...args));
  limitsVersion: LimiterStore['limitsVersion'] = async (...args) => (this.#check(), this.inner.limitsVersion(...args));
  bumpLimitsVersion: LimiterStore['bumpLimitsVersion'] = async (...args) => (this.#check(), this.inner.bumpLimitsVersion(...args));
  /** Times the gate asked for held-back work to go out now; releaseHeld, if set, lets held admissions go. */
  sentHeld = 0;
  releaseHeld: (() => void) | undefined;
  lastSettlementLazy: boolean | undefined;
  sendHeld = () => {
    this.sentHeld += 1;
    this.releaseHeld?.();
  };
  close = async () => {};
}

describe('limits gate', () => {
  let store: BreakableStore;
  let metrics: LimitsMetrics;
  let registry: Registry;
  let limitsByTenant: Map<string, EffectiveLimits>;
  let seeded: number;
  let usageDown: boolean;
  let published: QuotaView[];
  let webhooks: number[];
  let gate: LimitsGate;
  let logs: string[];
  let quota: QuotaService;

  const limitsOf = (tenantId: string, planRow: PlanRow) => {
    const limits = effectiveLimits({ tenantId, plan: planRow, tenantOverride: undefined, keyOverride: undefined }, null, 60_000);
    limitsByTenant.set(tenantId, limits);
  };
  const caller = (tenantId: string, requestId = `req-${Math.random()}`): CompletionCaller => ({ tenantId, userId: null, apiKeyId: null, requestId });
  const request = (tokens: number) => ({ model: 'm', estimateTokens: async () => tokens });

  beforeEach(() => {
    store = new BreakableStore();
    registry = new Registry();
    metrics = new LimitsMetrics(registry);
    limitsByTenant = new Map();
    seeded = 95_000;
    usageDown = false;
    published = [];
    webhooks = [];
    logs = [];
    const logger = createLogger('debug', new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(chunk.toString()), done()) }));
    const events = new QuotaEvents(createLocalBroadcast(logger));
    events.subscribe(null);
    const usageReport = (): UsageReport => ({ totals: { ...zeroTotals(), totalTokens: seeded, requests: 12, refused: 2 }, buckets: [] });
    quota = new QuotaService({
      store,
      directory: { get: (tenantId) => limitsByTenant.get(tenantId)! },
      usage: {
        store: {
          report: async (query) => {
            if (usageDown) throw new Error('usage store down');
            return new Map([[query.tenantIds![0]!, usageReport()]]);
          },
        },
      },
      events: { publish: async (view: QuotaView) => void published.push(view), subscribe: events.subscribe.bind(events) } as unknown as QuotaEvents,
      webhook: { send: (_view: QuotaView, threshold: number) => void webhooks.push(threshold) } as never,
      logger,
      metrics,
    });
    gate = new LimitsGate({ directory: { get: (tenantId) => limitsByTenant.get(tenantId)!, invalidate: () => {} }, store, quota, logger, metrics, settleRetryMs: 20 });
  });

  const counter = async (name: string, labels: string) => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    return (metric?.values as { value: number; labels: Record<string, string> }[] | undefined)?.find((v) => Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(',') === labels)?.value ?? 0;
  };

  it("seeds the month from the usage store, then refuses a hard quota once it is used, with the alert thresholds it crossed", async () => {
    limitsOf('t1', plan({}));
    const first = await gate.admit(caller('t1'), request(100));
    expect(first.headers['x-ratelimit-limit-requests']).toBe('10');
    expect(await store.readQuota('t1', billingMonth())).toEqual({ seeded: true, tokens: 95_000, requests: 11 });
    first.settle({ promptTokens: 1_000, completionTokens: 4_000, totalTokens: 5_000, estimated: false });
    await until(() => published.length === 1);
    expect(published.map((view) => [view.threshold, view.state])).toEqual([[100, 'EXCEEDED']]);
    expect(webhooks).toEqual([100]);
    const refused = await gate.admit(caller('t1'), request(100)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LimitRefusal);
    expect(refused).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { limit: 'monthly_tokens', used: 100_000 } });
    expect((refused as LimitRefusal).headers['retry-after-ms']).toBeDefined();
  });

  it('alerts for a crossing whose settlement landed but whose reply was lost: the retry reports it again', async () => {
    limitsOf('lost', plan({}));
    const admission = await gate.admit(caller('lost'), request(100));
    store.loseReplies = 1;
    admission.settle({ promptTokens: 1_000, completionTokens: 5_000, totalTokens: 6_000, estimated: false });
    await until(() => webhooks.length > 0);
    expect(webhooks).toEqual([100]);
    expect(published.map((view) => view.threshold)).toEqual([100]);
    expect(store.settlements).toBe(2);
    // Counted once all the same.
    expect(await store.readQuota('lost', billingMonth())).toMatchObject({ tokens: 101_000 });
  });

  it('announces a crossing once when the store reports it again (a retried settlement whose first reply did arrive)', async () => {
    limitsOf('twice', plan({ hard_quota: false }));
    store.echoCrossings = true;
    const first = await gate.admit(caller('twice'), request(100));
    await first.settle({ promptTokens: 1_000, completionTokens: 5_000, totalTokens: 6_000, estimated: false });
    const second = await gate.admit(caller('twice'), request(100));
    await second.settle({ promptTokens: 1, completionTokens: 1, totalTokens: 2, estimated: false });
    expect(store.settlements).toBe(2);
    expect(published.filter((view) => view.tenantId === 'twice').map((view) => view.threshold)).toEqual([100]);
    expect(webhooks).toEqual([100]);
  });

  it('settles once, whatever calls settle again', async () => {
    limitsOf('t2', plan({ hard_quota: false }));
    const admission = await gate.admit(caller('t2'), request(10));
    admission.settle({ promptTokens: 1, completionTokens: 1, totalTokens: 2, estimated: false });
    admission.settle({ promptTokens: 1, completionTokens: 1, totalTokens: 2, estimated: false });
    admission.settle(undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(store.settlements).toBe(1);
  });

  it('fails open for a soft quota and closed for a hard one when the store is unreachable, and settles when it is back', async () => {
    limitsOf('soft', plan({ id: 'pro', hard_quota: false, monthly_tokens: 25_000_000 }));
    limitsOf('hard', plan({}));
    (await gate.admit(caller('soft'), request(10))).settle(undefined);
    (await gate.admit(caller('hard'), request(10))).settle(undefined);
    store.down = true;
    const open = await gate.admit(caller('soft', 'during-outage'), request(10));
    expect(open.headers).toEqual({});
    const closed = await gate.admit(caller('hard'), request(10)).catch((error: unknown) => error);
    expect(closed).toBeInstanceOf(DomainError);
    expect(closed).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { retryAfter: 5 } });
    expect(await counter('tollgate_limit_store_failures_total', 'operation=admit,handling=fail_open')).toBe(1);
    expect(await counter('tollgate_limit_store_failures_total', 'operation=admit,handling=fail_closed')).toBe(1);
    expect(logs.some((line) => line.includes('failing open'))).toBe(true);

    open.settle({ promptTokens: 30, completionTokens: 12, totalTokens: 42, estimated: false });
    await new Promise((resolve) => setTimeout(resolve, 50));
    store.down = false;
    await until(async () => (await store.readQuota('soft', billingMonth())).tokens === 95_000 + 42);
    expect(await counter('tollgate_limit_store_failures_total', 'operation=settle,handling=retry')).toBeGreaterThanOrEqual(1);
  });

  it('fails closed for a hard quota and open for a soft one when the usage store cannot seed the month', async () => {
    usageDown = true;
    limitsOf('soft', plan({ id: 'pro', hard_quota: false }));
    limitsOf('hard', plan({}));
    await expect(gate.admit(caller('hard'), request(10))).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const admitted = await gate.admit(caller('soft'), request(10));
    expect(admitted.headers['x-ratelimit-limit-requests']).toBe('10');
    usageDown = false;
    await gate.admit(caller('soft'), request(10));
    expect(await store.readQuota('soft', billingMonth())).toMatchObject({ seeded: true, tokens: 95_000 });
  });

  it('treats a monthly request cap as money-bearing too', async () => {
    limitsOf('capped', plan({ hard_quota: false, requests_per_month: 1_000 }));
    await gate.admit(caller('capped'), request(1));
    store.down = true;
    await expect(gate.admit(caller('capped'), request(1))).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('answers a request far from every limit before its verdict, settles it after that verdict, and counts a refusal that came late', async () => {
    limitsOf('early', plan({ id: 'pro', hard_quota: false, monthly_tokens: 25_000_000, tokens_per_minute: 100_000, concurrent_requests: 100 }));
    limitsOf('hard', plan({ requests_per_minute: 100, concurrent_requests: 100 }));
    const earlyGate = new LimitsGate({ directory: { get: (tenantId) => limitsByTenant.get(tenantId)!, invalidate: () => {} }, store, quota, logger: createLogger('silent'), metrics, earlyStart: true, earlyAnswer: true });
    let started = 0;
    const startable = (tokens: number) => ({ ...request(tokens), startEarly: () => void (started += 1) });

    // No verdict seen yet: it waits for one.
    const first = await earlyGate.admit(caller('early'), startable(10));
    expect([started, first.verdict]).toEqual([0, undefined]);
    // That verdict left 9 of 10 requests: the next one is answered while the store has not answered.
    let release!: () => void;
    store.held = new Promise((resolve) => (release = resolve));
    const second = await earlyGate.admit(caller('early'), startable(10));
    expect(started).toBe(1);
    expect(second.headers['x-ratelimit-remaining-requests']).toBe('8');
    second.settle({ promptTokens: 5, completionTokens: 2, totalTokens: 7, estimated: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(store.settlements).toBe(0); // the store must count the admission before its release
    release();
    store.held = undefined;
    await second.verdict;
    await until(() => store.settlements === 1);
    expect(await counter('tollgate_limit_early_answers_total', '')).toBe(1);

    // Another instance uses the 8 left; this one's view still says 8, so it answers early, and the verdict refuses.
    for (let i = 0; i < 8; i++) await gate.admit(caller('early'), request(10));
    const third = await earlyGate.admit(caller('early'), startable(10));
    expect(started).toBe(2);
    await expect(third.verdict).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(await counter('tollgate_limit_early_answers_refused_total', '')).toBe(1);
    // After the refusal it waits for every verdict again.
    await expect(earlyGate.admit(caller('early'), startable(10))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(started).toBe(2);

    // A hard quota protects money: never answered early, however much headroom.
    await earlyGate.admit(caller('hard'), startable(10));
    const waited = await earlyGate.admit(caller('hard'), startable(10));
    expect([started, waited.verdict]).toEqual([2, undefined]);

    // Shutting down waits for a settlement that waits for its verdict, so the store (closed next) gets it.
    limitsOf('closing', plan({ id: 'pro', hard_quota: false, monthly_tokens: 25_000_000, tokens_per_minute: 100_000, concurrent_requests: 100 }));
    await earlyGate.admit(caller('closing'), startable(10));
    store.held = new Promise((resolve) => (release = resolve));
    const last = await earlyGate.admit(caller('closing'), startable(10));
    last.settle(undefined);
    const settlementsBefore = store.settlements;
    let closed = false;
    const closing = earlyGate.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    release();
    store.held = undefined;
    await closing;
    expect(store.settlements).toBe(settlementsBefore + 1);
  });

  it('sends a settlement someone waits for at once, with the verdict it waits for, instead of holding it for a batch', async () => {
    limitsOf('awaited', plan({ id: 'pro', hard_quota: false, monthly_tokens: 25_000_000, tokens_per_minute: 100_000, concurrent_requests: 100 }));
    const earlyGate = new LimitsGate({ directory: { get: (tenantId) => limitsByTenant.get(tenantId)!, invalidate: () => {} }, store, quota, logger: createLogger('silent'), metrics, earlyStart: true, earlyAnswer: true });
    const startable = { ...request(10), startEarly: () => {} };
    await earlyGate.admit(caller('awaited'), startable);
    const used = { promptTokens: 5, completionTokens: 2, totalTokens: 7, estimated: false };

    // After the reply (a one-shot answer): it may wait for the next batch.
    store.held = new Promise((resolve) => (store.releaseHeld = resolve));
    const afterReply = await earlyGate.admit(caller('awaited'), startable);
    expect(afterReply.verdict).toBeDefined();
    const lazy = afterReply.settle(used);
    expect(store.sentHeld).toBe(0);
    store.releaseHeld!();
    await lazy;
    expect(store.lastSettlementLazy).toBe(true);

    // Before the reply (a stream's last event waits on it): the held verdict and the settlement go now.
    store.held = new Promise((resolve) => (store.releaseHeld = resolve));
    const streamed = await earlyGate.admit(caller('awaited'), startable);
    expect(streamed.verdict).toBeDefined();
    await streamed.settle(used, { awaited: true });
    expect(store.sentHeld).toBe(1);
    expect(store.lastSettlementLazy).toBe(false);
    expect(store.settlements).toBe(2);
  });

  it('names the limit, its scope and when to retry in a refusal', async () => {
    limitsOf('t3', plan({ hard_quota: false, tokens_per_minute: 1_000 }));
    await gate.admit(caller('t3'), request(800));
    const refused = (await gate.admit(caller('t3'), request(300)).catch((error: unknown) => error)) as LimitRefusal;
    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.message).toMatch(/^Rate limit reached for tokens per minute on your organization: limit 1000, used 800, requested 300\. Please try again in \d+s\.$/);
    expect(refused.details).toMatchObject({ limit: 'tokens_per_minute', scope: 'tenant', limitValue: 1_000, remaining: 200 });
    expect(refused.headers).toMatchObject({ 'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': '200', 'x-ratelimit-remaining-requests': '9' });
  });
});

function billingMonth(): string {
  const now = new Date();
  return `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
