import { growingLru } from '../../shared/growing-lru.ts';
import type { TokenUsage } from '../../providers/provider.ts';
import { DomainError } from '../../shared/errors.ts';
import { randomId } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import type { CompletionCaller } from '../completion/index.ts';
import type { Admission, AdmissionRequest, RequestGate, SettleOptions } from '../completion/index.ts';
import type { BillingPeriod } from '../../shared/billing-period.ts';
import { EarlyStarts, earlyStartKey } from './early-start.ts';
import type { AdmitInput, AdmitOutcome, LimiterStore, QuotaSpec, SettleInput } from './limiter-store.ts';
import type { EffectiveLimits, LimitsDirectory } from './limits-directory.ts';
import type { LimitsMetrics } from './limits-metrics.ts';
import type { MonthlyQuota } from './monthly-quota.ts';
import { rateLimitHeaders } from './rate-limit-headers.ts';

export interface LimitsGateOptions {
  directory: Pick<LimitsDirectory, 'get' | 'invalidate'>;
  store: LimiterStore;
  quota: MonthlyQuota;
  logger: Logger;
  metrics: LimitsMetrics;
  /** Settlements that could not reach the store are retried this often, up to maxPendingSettlements. */
  settleRetryMs?: number;
  maxPendingSettlements?: number;
  /** Lets requests go upstream while their verdict is on its way (see EarlyStarts): for a store across the network. */
  earlyStart?: boolean;
  /**
   * With earlyStart: such a request is also answered without waiting for its verdict. A refusal that
   * comes before the upstream has answered still aborts it; one that comes after is served past the limit.
   */
  earlyAnswer?: boolean;
}

/** A refusal by a limit, carrying the x-ratelimit-* headers for /v1 (GraphQL shows the details only). */
export class LimitRefusal extends DomainError {
  readonly headers: Readonly<Record<string, string>>;
  constructor(code: 'RATE_LIMITED' | 'QUOTA_EXCEEDED', message: string, details: Record<string, unknown>, headers: Record<string, string>) {
    super(code, message, details);
    this.headers = headers;
  }
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

const limitNames: Record<string, string> = {
  'requests:rpm': 'requests per minute',
  'tokens:tpm': 'tokens per minute',
  'concurrency:conc': 'concurrent requests',
  'requests:rph': 'requests per hour',
};

/**
 * The RequestGate of every completion: rate limits per tenant and per API key (requests and tokens per
 * minute, concurrency, requests per hour) and the monthly quota, in one store round trip per admission
 * and one per settlement. A request far from every limit (see EarlyStarts) is answered before its
 * verdict: the store batches that verdict and the settlement with others, and a refusal, should other
 * instances have used the headroom meanwhile, aborts the request if the upstream has not answered yet.
 *
 * When the store is unreachable, rate limits fail open (served, with a warning and a metric), while a
 * check that protects money fails closed: a tenant with a hard token quota or a monthly request cap is
 * refused with UPSTREAM_UNAVAILABLE (503), because serving it could give away what its plan does not
 * include. Soft-quota tenants lose nothing by being served: their usage is metered either way.
 */
export class LimitsGate implements RequestGate {
  readonly #options: LimitsGateOptions;
  readonly #instance = randomId(8);
  #sequence = 0;
  readonly #pending: PendingSettlement[] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  /** Admissions that failed open and await their settlement, which then counts them against the month. */
  readonly #failedOpen = new Set<string>();
  #lastWarning = 0;
  readonly #early: EarlyStarts | undefined;
  /**
   * Crossings this instance has announced. The store reports a crossing again when its settlement is
   * retried (the first reply may have been lost); one whose first report did arrive is not announced twice.
   */
  readonly #announced = growingLru<string, true>(100_000, { ttl: 40 * 24 * 3_600_000 });
  /** Settlements of early answers, each waiting for its verdict; close() waits for them. */
  readonly #settlingAfterVerdict = new Set<Promise<void>>();

  constructor(options: LimitsGateOptions) {
    this.#options = options;
    this.#early = options.earlyStart ? new EarlyStarts() : undefined;
  }

  async admit(caller: CompletionCaller, request: AdmissionRequest): Promise<Admission> {
    const { directory, quota } = this.#options;
    const limits = await directory.get(caller.tenantId, caller.apiKeyId);
    const period = quota.currentPeriod();
    const spec = quota.spec(limits, period);
    const estimate = await request.estimateTokens();
    const viewKey = this.#early && earlyStartKey(caller.tenantId, caller.apiKeyId, spec.period);
    // Checks that protect money always wait for their verdict.
    const early = viewKey && request.startEarly && !moneyBearing(limits) ? this.#early!.allow(viewKey, limits, estimate, Date.now()) : undefined;
    if (early) request.startEarly!();
    // A request with the client's own id waits for its verdict, which says whether it is a retry.
    const answerEarly = early !== undefined && this.#options.earlyAnswer === true && caller.requestIdGiven !== true;
    const input = {
      tenantId: caller.tenantId,
      apiKeyId: caller.apiKeyId,
      requestId: caller.requestId,
      requestIdGiven: caller.requestIdGiven === true,
      admissionId: `${this.#instance}.${(this.#sequence += 1)}`,
      estimate,
      specs: limits.specs,
      quota: spec,
      requireSeed: true,
      // Far from every limit: the store may hold the verdict and the release back to batch them.
      lazy: answerEarly,
      limitsVersion: limits.version,
    };
    const counted: Counted = { limits, input };
    const verdict = this.#verdict(counted, period, viewKey);
    if (!answerEarly) return this.#admission(counted, period, estimate, await verdict);
    this.#options.metrics.earlyAnswers.inc();
    const lateVerdict = verdict.then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof LimitRefusal) this.#options.metrics.earlyAnswersRefused.inc();
        throw error;
      },
    );
    // Handled here; the caller races it against its upstream call.
    lateVerdict.catch(() => {});
    return this.#admission(counted, period, estimate, rateLimitHeaders(limits, early), lateVerdict);
  }

  /**
   * The store's admission with the tenant's limits as they stand. A stale answer means they changed
   * since this instance read them (the news of it may still be on its way): they are read again and the
   * admission asked again, so a change applies to the next request on every instance. A second change
   * racing the first is not waited for: the limits just read are counted unchecked.
   */
  async #admitCurrent(counted: Counted, period: BillingPeriod): Promise<AdmitOutcome> {
    const { store, directory, quota } = this.#options;
    let outcome = await store.admit(counted.input);
    for (let attempt = 0; outcome.status === 'stale'; attempt += 1) {
      const { tenantId, apiKeyId } = counted.input;
      directory.invalidate(tenantId);
      const limits = await directory.get(tenantId, apiKeyId);
      counted.limits = limits;
      counted.input = { ...counted.input, specs: limits.specs, quota: quota.spec(limits, period), limitsVersion: attempt === 0 ? limits.version : undefined };
      outcome = await store.admit(counted.input);
    }
    return outcome;
  }

  /** The store's verdict: the admission's x-ratelimit-* headers, or the refusal thrown. Keeps this instance's early-start view. */
  async #verdict(counted: Counted, period: BillingPeriod, viewKey: string | undefined): Promise<Readonly<Record<string, string>>> {
    let outcome: AdmitOutcome;
    try {
      outcome = await this.#admitCurrent(counted, period);
      if (outcome.status === 'unseeded') {
        const seeded = await this.#seed(counted.input.tenantId, counted.limits, counted.input.quota, period);
        outcome = await this.#options.store.admit({ ...counted.input, requireSeed: seeded, limitsVersion: undefined });
      }
    } catch (error) {
      if (viewKey) this.#early!.forget(viewKey);
      if (error instanceof DomainError) throw error;
      return this.#storeUnavailable(counted.limits, error, counted.input.admissionId);
    }
    const { limits, input } = counted;
    if (outcome.status === 'unseeded' || outcome.status === 'stale') throw new Error(`limiter store answered "${outcome.status}" to an admission that did not ask for it`);
    if (outcome.status === 'refused') {
      if (viewKey) this.#early!.forget(viewKey);
      throw refusal(limits, period, outcome, input.estimate);
    }
    if (viewKey) this.#early!.admitted(viewKey, outcome.states, Date.now());
    // Only an id the client sent marks a retry: one minted here repeats only in a settlement's own retry.
    counted.repeated = outcome.repeated && input.requestIdGiven === true;
    return rateLimitHeaders(limits, outcome.states);
  }

  /**
   * Waits for the settlements that wait for a verdict to reach the store (close the store after), then
   * stops retrying settlements; those still pending are lost (their slots expire with their leases).
   */
  async close(): Promise<void> {
    await Promise.all(this.#settlingAfterVerdict);
    clearTimeout(this.#retryTimer);
    if (this.#pending.length > 0) this.#options.logger.warn({ pending: this.#pending.length }, 'limits: settlements not delivered before shutdown');
  }

  /** Whether the period is now seeded (false: admit without the monthly counters, which seed later). */
  async #seed(tenantId: string, limits: EffectiveLimits, spec: QuotaSpec, period: BillingPeriod): Promise<boolean> {
    try {
      await this.#options.quota.seed(tenantId, spec, period);
      return true;
    } catch (error) {
      this.#options.logger.warn({ err: error, tenantId }, 'limits: cannot read the usage store to seed the monthly quota');
      if (moneyBearing(limits)) throw quotaUnavailable('the usage store');
      return false;
    }
  }

  /** Fails open (no headers) or, for a tenant whose checks protect money, closed. */
  #storeUnavailable(limits: EffectiveLimits, error: unknown, admissionId: string): Readonly<Record<string, string>> {
    const failClosed = moneyBearing(limits);
    this.#options.metrics.storeFailures.inc({ operation: 'admit', handling: failClosed ? 'fail_closed' : 'fail_open' });
    const now = Date.now();
    if (now - this.#lastWarning > 10_000) {
      this.#lastWarning = now;
      this.#options.logger.warn(
        { err: error, tenantId: limits.tenantId },
        failClosed
          ? 'limits: store unreachable; a tenant with a hard quota is refused (503) until it is back'
          : 'limits: store unreachable; rate limits are failing open (served without limits)',
      );
    }
    if (failClosed) throw quotaUnavailable('the limits store (Redis)');
    // Settled all the same: if the admission did reach the store (a lost reply), its slot is released;
    // if not, the settlement counts the request against the month.
    this.#failedOpen.add(admissionId);
    return noHeaders;
  }

  /**
   * With a verdict still on its way, the settlement waits for it: the store must count the admission
   * before its release, with the limits it was counted with.
   */
  #admission(counted: Counted, period: BillingPeriod, reserved: number, headers: Readonly<Record<string, string>>, verdict?: Promise<void>): Admission {
    let settled = false;
    return {
      headers,
      verdict,
      get repeated() {
        return counted.repeated === true;
      },
      settle: async (usage: TokenUsage | undefined, options?: SettleOptions) => {
        if (settled) return;
        settled = true;
        const awaited = options?.awaited === true;
        const settle = () =>
          this.#settle(counted.limits, period, {
            ...counted.input,
            reserved,
            actual: usage?.totalTokens ?? 0,
            ...(awaited ? { lazy: false } : {}),
            ...(this.#failedOpen.delete(counted.input.admissionId) ? { unadmitted: true } : {}),
          });
        if (!verdict) return settle();
        // The verdict may still be held back for the flush interval, and the settlement waits for it.
        if (awaited) this.#options.store.sendHeld();
        const settling = verdict.then(settle, settle);
        this.#settlingAfterVerdict.add(settling);
        await settling;
        this.#settlingAfterVerdict.delete(settling);
      },
    };
  }

  /** Resolves when the store answered, or when the settlement is queued for a retry. */
  #settle(limits: EffectiveLimits, period: BillingPeriod, input: SettleInput): Promise<void> {
    return this.#options.store.settle(input).then(
      (outcome) => {
        const crossed = outcome.crossed.filter((threshold) => {
          const crossing = `${limits.tenantId}\0${period.month}\0${threshold}`;
          if (this.#announced.has(crossing)) return false;
          this.#announced.set(crossing, true);
          return true;
        });
        if (crossed.length > 0) this.#options.quota.alert(limits, period, outcome.quota, crossed);
      },
      (error: unknown) => {
        this.#options.metrics.storeFailures.inc({ operation: 'settle', handling: 'retry' });
        this.#options.logger.debug({ err: error }, 'limits: settlement failed; it is retried');
        this.#retryLater({ limits, period, input });
      },
    );
  }

  #retryLater(pending: PendingSettlement): void {
    const max = this.#options.maxPendingSettlements ?? 10_000;
    if (this.#pending.length >= max) {
      this.#pending.shift();
      this.#options.metrics.storeFailures.inc({ operation: 'settle', handling: 'dropped' });
    }
    this.#pending.push(pending);
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const batch = this.#pending.splice(0);
      // Settlements are idempotent, so one that did land before its reply was lost counts nothing more;
      // the store reports its alert crossings again, since the lost reply carried them.
      for (const { limits, period, input } of batch) this.#settle(limits, period, input);
    }, this.#options.settleRetryMs ?? 1_000);
    this.#retryTimer.unref();
  }
}

/** The limits an admission is counted with, and what was sent; a stale verdict replaces both. */
interface Counted {
  limits: EffectiveLimits;
  input: AdmitInput;
  /** Set by an admitted verdict: the client's request id was already counted. */
  repeated?: boolean;
}

/** A settlement that could not reach the store, with what its alerts need. */
interface PendingSettlement {
  limits: EffectiveLimits;
  period: BillingPeriod;
  input: SettleInput;
}

/** A hard token quota or a monthly request cap: letting requests through unchecked would give away what the plan does not include. */
const moneyBearing = (limits: EffectiveLimits) => (limits.hardQuota && (limits.monthlyTokens ?? 0) > 0) || limits.requestsPerMonth !== null;

function quotaUnavailable(what: string): DomainError {
  return new DomainError('UPSTREAM_UNAVAILABLE', `The monthly quota cannot be checked because ${what} is unreachable; the request was not sent. Please retry shortly.`, {
    retryAfter: 5,
    dependency: what,
  });
}

function refusal(limits: EffectiveLimits, period: BillingPeriod, outcome: Extract<AdmitOutcome, { status: 'refused' }>, estimate: number): LimitRefusal {
  const retryAfter = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
  const headers = { ...rateLimitHeaders(limits, outcome.states), 'retry-after-ms': String(Math.max(1, Math.round(outcome.retryAfterMs))) };
  if (outcome.reason === 'quota_tokens') {
    return new LimitRefusal(
      'QUOTA_EXCEEDED',
      `You have used your plan's ${limits.monthlyTokens} tokens for ${period.month} (${outcome.quota.tokens} used); the quota resets at ${period.end.toISOString()}.`,
      { retryAfter, limit: 'monthly_tokens', quotaLimit: limits.monthlyTokens, used: outcome.quota.tokens, resetsAt: period.end.toISOString() },
      headers,
    );
  }
  if (outcome.reason === 'quota_requests') {
    return new LimitRefusal(
      'QUOTA_EXCEEDED',
      `You have made your plan's ${limits.requestsPerMonth} requests for ${period.month}; the quota resets at ${period.end.toISOString()}.`,
      { retryAfter, limit: 'requests_per_month', quotaLimit: limits.requestsPerMonth, used: outcome.quota.requests, resetsAt: period.end.toISOString() },
      headers,
    );
  }
  const spec = limits.specs[outcome.spec]!;
  const state = outcome.states[outcome.spec]!;
  const what = limitNames[`${spec.kind}:${spec.name}`] ?? spec.name;
  const whose = spec.scope === 'key' ? 'this API key' : 'your organization';
  const detail =
    spec.kind === 'tokens' && estimate > spec.limit
      ? `Request too large for ${what}: limit ${spec.limit}, requested ${estimate}. Send fewer tokens or a lower max_tokens.`
      : spec.kind === 'tokens'
        ? `Rate limit reached for ${what} on ${whose}: limit ${spec.limit}, used ${spec.limit - state.remaining}, requested ${estimate}. Please try again in ${retryAfter}s.`
        : `Rate limit reached for ${what} on ${whose}: limit ${spec.limit}. Please try again in ${retryAfter}s.`;
  return new LimitRefusal(
    'RATE_LIMITED',
    detail,
    { retryAfter, limit: what.replaceAll(' ', '_'), scope: spec.scope, limitValue: spec.limit, remaining: state.remaining },
    headers,
  );
}
