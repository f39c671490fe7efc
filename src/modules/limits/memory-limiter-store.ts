import {
  alertThresholds,
  reachedThresholds,
  type AdmitInput,
  type AdmitOutcome,
  type LimiterStore,
  type LimitSpec,
  type LimitState,
  type QuotaSpec,
  type QuotaUse,
  type SettleInput,
  type SettleOutcome,
} from './limiter-store.ts';

// The embedded store: one process, the same arithmetic as the Redis script (see limiter-store.ts).

interface Entry {
  t: number;
  id: string;
  weight: number;
}

/** Entries in time order; head advances as they leave the window. */
interface Window {
  entries: Entry[];
  head: number;
  sum: number;
  byId: Map<string, Entry>;
  windowMs: number;
}

interface Period {
  seeded: boolean;
  baseTokens: number;
  tokens: number;
  baseRequests: number;
  requests: number;
  /** Thresholds alerted, each with the admission whose settlement crossed it ('' when behind at seeding). */
  alerted: Map<number, string>;
  expiresAtMs: number;
}

export interface MemoryLimiterStoreOptions {
  /** How long a request id the client sent is remembered with its counted tokens, so a retry is not counted twice. */
  requestIdTtlMs: number;
  /** The same for a request id minted here (the default: requestIdTtlMs), which only a settlement's retry repeats. */
  generatedRequestIdTtlMs?: number;
  now?: () => number;
  /** How often idle windows and forgotten periods are dropped. */
  sweepEveryMs?: number;
}

type RequestIdMemory = Map<string, { counted: number; expiresAt: number }>;
type RequestIdOf = Pick<AdmitInput, 'tenantId' | 'requestId' | 'requestIdGiven'>;

export class MemoryLimiterStore implements LimiterStore {
  readonly kind = 'memory' as const;
  readonly #windows = new Map<string, Window>();
  readonly #leases = new Map<string, Map<string, number>>();
  readonly #periods = new Map<string, Period>();
  readonly #limitsVersions = new Map<string, number>();
  /**
   * requestId -> tokens counted, ids the client sent apart from ids minted here: in each, insertion order
   * is expiry order (each touch re-inserts), so a sweep stops at the first live entry. An id is in one
   * of them at a time, as in Redis, where it is one key: a client may send back an id minted here.
   */
  readonly #requestIds: Record<'given' | 'generated', RequestIdMemory> = { given: new Map(), generated: new Map() };
  readonly #requestIdTtlMs: number;
  readonly #generatedRequestIdTtlMs: number;
  readonly #clock: () => number;
  readonly #sweeper: NodeJS.Timeout;
  #last = 0;

  constructor(options: MemoryLimiterStoreOptions) {
    this.#requestIdTtlMs = options.requestIdTtlMs;
    this.#generatedRequestIdTtlMs = options.generatedRequestIdTtlMs ?? options.requestIdTtlMs;
    this.#clock = options.now ?? Date.now;
    this.#sweeper = setInterval(() => this.#sweep(), options.sweepEveryMs ?? 60_000);
    this.#sweeper.unref();
  }

  async limitsVersion(tenantId: string): Promise<string> {
    return String(this.#limitsVersions.get(tenantId) ?? 0);
  }

  async bumpLimitsVersion(tenantId: string): Promise<void> {
    this.#limitsVersions.set(tenantId, (this.#limitsVersions.get(tenantId) ?? 0) + 1);
  }

  async admit(input: AdmitInput): Promise<AdmitOutcome> {
    if (input.limitsVersion !== undefined && input.limitsVersion !== String(this.#limitsVersions.get(input.tenantId) ?? 0)) return { status: 'stale' };
    const now = this.#now();
    const period = this.#period(input.tenantId, input.quota);
    if (input.requireSeed && !period.seeded) return { status: 'unseeded' };
    const quota = use(period);
    const fresh = this.#countedTokens(input, now) === undefined;
    const periodLeft = Math.max(0, periodEnd(input.quota) - now);
    // Each limit's use before this request; states say what is left after it, or now if it is refused.
    const uses: { used: number; weight: number; resetMs: number }[] = [];
    let refused: { spec: number; retryAfterMs: number } | undefined;
    input.specs.forEach((spec, i) => {
      const key = this.#key(input, spec);
      let used: number;
      let resetMs = 0;
      let wait = 1_000;
      const weight = spec.kind === 'tokens' ? input.estimate : 1;
      if (spec.kind === 'concurrency') {
        used = this.#liveLeases(key, now).size;
      } else {
        const window = this.#window(key, spec, now);
        const count = window.entries.length - window.head;
        used = spec.kind === 'tokens' ? window.sum : count;
        const newest = count > 0 ? window.entries[window.entries.length - 1]!.t : now - spec.windowMs;
        resetMs = Math.max(0, newest + spec.windowMs - now);
        if (used + weight > spec.limit) wait = retryAfter(window, spec, weight, now);
      }
      uses.push({ used, weight, resetMs });
      if (used + weight > spec.limit) {
        if (!refused) refused = { spec: i, retryAfterMs: wait };
        else refused.retryAfterMs = Math.max(refused.retryAfterMs, wait);
      }
    });
    const states = (admitted: boolean): LimitState[] =>
      input.specs.map((spec, i) => {
        const { used, weight, resetMs } = uses[i]!;
        if (!admitted) return { limit: spec.limit, remaining: Math.max(0, spec.limit - used), resetMs };
        return { limit: spec.limit, remaining: spec.limit - used - weight, resetMs: spec.kind === 'concurrency' ? 0 : spec.windowMs };
      });
    // Monthly caps come first: they say more than a window that frees itself within a minute.
    if (input.quota.hardTokens && input.quota.tokenLimit > 0 && quota.tokens >= input.quota.tokenLimit) {
      return { status: 'refused', reason: 'quota_tokens', spec: -1, retryAfterMs: periodLeft, states: states(false), quota };
    }
    if (fresh && input.quota.requestLimit > 0 && quota.requests >= input.quota.requestLimit) {
      return { status: 'refused', reason: 'quota_requests', spec: -1, retryAfterMs: periodLeft, states: states(false), quota };
    }
    if (refused) return { status: 'refused', reason: 'limit', spec: refused.spec, retryAfterMs: refused.retryAfterMs, states: states(false), quota };

    input.specs.forEach((spec) => {
      const key = this.#key(input, spec);
      if (spec.kind === 'concurrency') {
        this.#liveLeases(key, now).set(input.admissionId, now + spec.windowMs);
        return;
      }
      const window = this.#window(key, spec, now);
      const entry = { t: now, id: input.admissionId, weight: spec.kind === 'tokens' ? input.estimate : 1 };
      window.entries.push(entry);
      window.sum += entry.weight;
      if (spec.kind === 'tokens') window.byId.set(entry.id, entry);
    });
    if (fresh) {
      this.#remember(input, 0, now);
      if (period.seeded) period.requests += 1;
    }
    return { status: 'admitted', states: states(true), quota: use(period), repeated: !fresh };
  }

  async settle(input: SettleInput): Promise<SettleOutcome> {
    const now = this.#now();
    const period = this.#period(input.tenantId, input.quota);
    const known = this.#countedTokens(input, now);
    const counted = known ?? 0;
    const delta = Math.max(0, input.actual - counted);
    this.#remember(input, Math.max(counted, input.actual), now);
    const crossed: number[] = [];
    if (period.seeded && delta > 0) period.tokens += delta;
    // A request whose admission failed (served while limits failed open) is counted now, once.
    if (input.unadmitted && period.seeded && known === undefined) period.requests += 1;
    const reached = period.seeded && delta > 0 ? reachedThresholds(period.baseTokens + period.tokens, input.quota.tokenLimit) : [];
    for (const threshold of alertThresholds) {
      const by = period.alerted.get(threshold);
      if (by === undefined && reached.includes(threshold)) {
        period.alerted.set(threshold, input.admissionId);
        crossed.push(threshold);
      } else if (by === input.admissionId) {
        // Settled again (a retry whose first reply was lost): the crossing is reported again.
        crossed.push(threshold);
      }
    }
    for (const spec of input.specs) {
      const key = this.#key(input, spec);
      if (spec.kind === 'concurrency') {
        this.#leases.get(key)?.delete(input.admissionId);
      } else if (spec.kind === 'tokens') {
        const window = this.#windows.get(key);
        const entry = window?.byId.get(input.admissionId);
        if (window && entry) {
          window.sum += input.actual - entry.weight;
          entry.weight = input.actual;
          window.byId.delete(input.admissionId);
        }
      }
    }
    return { quota: use(period), crossed };
  }

  async seedQuota(tenantId: string, quota: QuotaSpec, base: { tokens: number; requests: number }): Promise<void> {
    const period = this.#period(tenantId, quota);
    if (period.seeded) return;
    period.seeded = true;
    period.baseTokens = base.tokens;
    period.baseRequests = base.requests;
    // Thresholds already behind at seeding were alerted before (a restart): only new crossings alert.
    for (const threshold of reachedThresholds(base.tokens, quota.tokenLimit)) period.alerted.set(threshold, '');
  }

  async readQuota(tenantId: string, periodId: string): Promise<QuotaUse> {
    const period = this.#periods.get(`${tenantId}\0${periodId}`);
    return period ? use(period) : { seeded: false, tokens: 0, requests: 0 };
  }

  async peek(tenantId: string, apiKeyId: string | null, specs: readonly LimitSpec[]): Promise<LimitState[]> {
    const now = this.#now();
    return specs.map((spec) => {
      const key = this.#key({ tenantId, apiKeyId }, spec);
      if (spec.kind === 'concurrency') {
        return { limit: spec.limit, remaining: Math.max(0, spec.limit - this.#liveLeases(key, now).size), resetMs: 0 };
      }
      const window = this.#window(key, spec, now);
      const count = window.entries.length - window.head;
      const used = spec.kind === 'tokens' ? window.sum : count;
      const newest = count > 0 ? window.entries[window.entries.length - 1]!.t + spec.windowMs - now : 0;
      return { limit: spec.limit, remaining: Math.max(0, spec.limit - used), resetMs: Math.max(0, newest) };
    });
  }

  /** Nothing is held back in process. */
  sendHeld(): void {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #now(): number {
    // Never backwards: a window's entries stay in time order even if the wall clock steps back.
    this.#last = Math.max(this.#last, this.#clock());
    return this.#last;
  }

  #key(input: { tenantId: string; apiKeyId: string | null }, spec: LimitSpec): string {
    return spec.scope === 'key' ? `${input.tenantId}\0k\0${input.apiKeyId ?? ''}\0${spec.name}` : `${input.tenantId}\0t\0${spec.name}`;
  }

  #window(key: string, spec: LimitSpec, now: number): Window {
    let window = this.#windows.get(key);
    if (!window) {
      window = { entries: [], head: 0, sum: 0, byId: new Map(), windowMs: spec.windowMs };
      this.#windows.set(key, window);
    }
    window.windowMs = spec.windowMs;
    const cutoff = now - spec.windowMs;
    while (window.head < window.entries.length && window.entries[window.head]!.t <= cutoff) {
      const entry = window.entries[window.head]!;
      window.sum -= entry.weight;
      window.byId.delete(entry.id);
      window.head += 1;
    }
    if (window.head > 1024 && window.head * 2 > window.entries.length) {
      window.entries = window.entries.slice(window.head);
      window.head = 0;
    }
    if (window.head === window.entries.length) window.sum = 0;
    return window;
  }

  #liveLeases(key: string, now: number): Map<string, number> {
    let leases = this.#leases.get(key);
    if (!leases) {
      leases = new Map();
      this.#leases.set(key, leases);
    }
    for (const [id, expiresAt] of leases) if (expiresAt <= now) leases.delete(id);
    return leases;
  }

  #period(tenantId: string, quota: QuotaSpec): Period {
    const key = `${tenantId}\0${quota.period}`;
    let period = this.#periods.get(key);
    if (!period) {
      period = { seeded: false, baseTokens: 0, tokens: 0, baseRequests: 0, requests: 0, alerted: new Map(), expiresAtMs: quota.expiresAtMs };
      this.#periods.set(key, period);
    }
    return period;
  }

  #countedTokens(input: RequestIdOf, now: number): number | undefined {
    const key = `${input.tenantId}\0${input.requestId}`;
    const entry = this.#requestIds.given.get(key) ?? this.#requestIds.generated.get(key);
    return entry && entry.expiresAt > now ? entry.counted : undefined;
  }

  #remember(input: RequestIdOf, counted: number, now: number): void {
    const key = `${input.tenantId}\0${input.requestId}`;
    this.#requestIds.given.delete(key);
    this.#requestIds.generated.delete(key);
    const ttl = input.requestIdGiven ? this.#requestIdTtlMs : this.#generatedRequestIdTtlMs;
    this.#requestIds[input.requestIdGiven ? 'given' : 'generated'].set(key, { counted, expiresAt: now + ttl });
  }

  #sweep(): void {
    const now = this.#now();
    for (const memory of Object.values(this.#requestIds)) {
      for (const [key, entry] of memory) {
        if (entry.expiresAt > now) break;
        memory.delete(key);
      }
    }
    for (const [key, window] of this.#windows) {
      const newest = window.entries[window.entries.length - 1];
      if (!newest || newest.t <= now - window.windowMs) this.#windows.delete(key);
    }
    for (const [key, leases] of this.#leases) {
      for (const [id, expiresAt] of leases) if (expiresAt <= now) leases.delete(id);
      if (leases.size === 0) this.#leases.delete(key);
    }
    for (const [key, period] of this.#periods) if (period.expiresAtMs <= now) this.#periods.delete(key);
  }
}

const use = (period: Period): QuotaUse => ({
  seeded: period.seeded,
  tokens: period.baseTokens + period.tokens,
  requests: period.baseRequests + period.requests,
});

/** The period's end, from its YYYYMM. */
export function periodEnd(quota: Pick<QuotaSpec, 'period'>): number {
  const year = Number(quota.period.slice(0, 4));
  const month = Number(quota.period.slice(4, 6));
  return Date.UTC(year, month, 1);
}

/** How long until enough of the window expires for `weight` more to fit (the whole window if it never can). */
function retryAfter(window: Window, spec: LimitSpec, weight: number, now: number): number {
  if (weight > spec.limit) return spec.windowMs;
  const used = spec.kind === 'tokens' ? window.sum : window.entries.length - window.head;
  let excess = used + weight - spec.limit;
  for (let i = window.head; i < window.entries.length; i++) {
    const entry = window.entries[i]!;
    excess -= entry.weight;
    if (excess <= 0) return Math.max(1, entry.t + spec.windowMs - now);
  }
  return spec.windowMs;
}
