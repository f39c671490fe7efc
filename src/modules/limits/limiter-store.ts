// The counters behind rate limits and monthly quotas, in one process (memory) or shared (Redis). Both
// stores implement the same arithmetic and run the same contract tests:
//
// - requests and tokens per window: an exact sliding-window log. Every admission is an entry stamped
//   with its time (and, for tokens, its weight); a request is admitted only if the entries of the last
//   window plus this one stay within the limit, so no window of that length ever holds more.
// - concurrency: a set of in-flight admissions, each a lease that expires on its own should its
//   settlement never arrive (a crashed instance), so a slot cannot leak for longer than the lease.
// - the month: used tokens and requests per tenant and period, seeded once from the usage store.
//
// One admission is one atomic step over every counter a request touches (all or nothing), and one
// settlement is another.

export type LimitKind = 'requests' | 'tokens' | 'concurrency';
export type LimitScope = 'tenant' | 'key';

/** One limit an admission is checked against. */
export interface LimitSpec {
  kind: LimitKind;
  scope: LimitScope;
  /** Names the counter within its scope (rpm, tpm, rph, conc). */
  name: string;
  /** Requests or tokens per window, or requests in flight. */
  limit: number;
  /** The window's length, or (concurrency) how long a slot is held at most without a settlement. */
  windowMs: number;
}

/** The tenant's billing period and what its plan allows in it. */
export interface QuotaSpec {
  /** YYYYMM of the calendar month (UTC). */
  period: string;
  /** When the period's counters may be forgotten (some time after it ends), epoch ms. */
  expiresAtMs: number;
  /** Monthly tokens the plan includes; 0 when unlimited. Alerts are percentages of it. */
  tokenLimit: number;
  /** True: admissions are refused once the used tokens reach tokenLimit. */
  hardTokens: boolean;
  /** Requests per month; 0 when uncapped. */
  requestLimit: number;
}

export interface AdmitInput {
  tenantId: string;
  apiKeyId: string | null;
  /** The caller's request id: a retry with the same id is not counted twice in the month. */
  requestId: string;
  /** True when the client sent the request id: remembered for the store's requestIdTtlMs, else (minted here) for the shorter generatedRequestIdTtlMs. */
  requestIdGiven?: boolean;
  /** Unique per admission: names its window entries and its concurrency slot. */
  admissionId: string;
  /** Tokens reserved in token windows until the settlement says what was used. */
  estimate: number;
  specs: readonly LimitSpec[];
  quota: QuotaSpec;
  /** When the period is not seeded yet, answer "unseeded" and change nothing. */
  requireSeed: boolean;
  /** Nothing waits on this verdict to answer the client: a store across the network may hold it back to send it with others. */
  lazy?: boolean;
  /**
   * The tenant's limits version (limitsVersion) read before its limits were: when the store holds a
   * newer one, the limits changed since and the answer is "stale", with nothing counted.
   */
  limitsVersion?: string;
}

/** Where one limit stands, for x-ratelimit-* headers. */
export interface LimitState {
  limit: number;
  remaining: number;
  /** Until the window is back to its full allowance (0 when it already is). */
  resetMs: number;
}

export interface QuotaUse {
  seeded: boolean;
  tokens: number;
  requests: number;
}

export type AdmitOutcome =
  /** `repeated`: the request id was already remembered (a client's retry), so the month did not count it again. */
  | { status: 'admitted'; states: LimitState[]; quota: QuotaUse; repeated: boolean }
  | {
      status: 'refused';
      /** Which limit refused: the monthly tokens or requests, or specs[spec]. */
      reason: 'quota_tokens' | 'quota_requests' | 'limit';
      spec: number;
      retryAfterMs: number;
      states: LimitState[];
      quota: QuotaUse;
    }
  | { status: 'unseeded' }
  | { status: 'stale' };

export interface SettleInput {
  tenantId: string;
  apiKeyId: string | null;
  requestId: string;
  /** As for the admission. */
  requestIdGiven?: boolean;
  admissionId: string;
  /** What the admission reserved in token windows. */
  reserved: number;
  /** What the request used, whatever its end. */
  actual: number;
  specs: readonly LimitSpec[];
  quota: QuotaSpec;
  /** Far from every limit, so a release a few ms late refuses no one: a store across the network may hold it back to send it with others. */
  lazy?: boolean;
  /**
   * Its admission failed (the limits failed open and served it): the store counts the request against
   * the month now, unless the admission did arrive (a lost reply) and counted it.
   */
  unadmitted?: boolean;
}

export interface SettleOutcome {
  quota: QuotaUse;
  /**
   * Alert thresholds (percent of tokenLimit) this settlement crossed first in the period; reported again
   * when the same admission is settled again (a retry whose reply was lost), so no crossing goes unheard.
   */
  crossed: number[];
}

export const alertThresholds = [80, 100] as const;

export interface LimiterStore {
  readonly kind: 'memory' | 'redis';
  admit(input: AdmitInput): Promise<AdmitOutcome>;
  /** Idempotent: settling an admission twice (a retry after a lost reply) changes no counter again. */
  settle(input: SettleInput): Promise<SettleOutcome>;
  /** Sets the period's starting point once; a period already seeded keeps its counters. */
  seedQuota(tenantId: string, quota: QuotaSpec, base: { tokens: number; requests: number }): Promise<void>;
  readQuota(tenantId: string, period: string): Promise<QuotaUse>;
  /** Where each limit stands, without admitting anything. */
  peek(tenantId: string, apiKeyId: string | null, specs: readonly LimitSpec[]): Promise<LimitState[]>;
  /** The version of the tenant's limits, read before the limits themselves so a change in between shows as stale. */
  limitsVersion(tenantId: string): Promise<string>;
  /** Says the tenant's limits changed (after the change is committed): admissions made with older limits are stale. */
  bumpLimitsVersion(tenantId: string): Promise<void>;
  /** Sends the lazy admissions and settlements held back for batching at the end of this turn. */
  sendHeld(): void;
  close(): Promise<void>;
}

/** Thresholds reached by `tokens` out of `limit`. */
export function reachedThresholds(tokens: number, limit: number): number[] {
  return limit > 0 ? alertThresholds.filter((percent) => tokens * 100 >= percent * limit) : [];
}
