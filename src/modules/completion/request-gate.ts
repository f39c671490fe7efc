import type { TokenUsage } from '../../providers/provider.ts';
import type { CompletionCaller } from './completion-caller.ts';

/**
 * Where limits and quotas plug into every completion: admit() runs before the upstream call
 * (and may refuse with RATE_LIMITED or QUOTA_EXCEEDED); the admission is settled exactly once
 * with what was actually used, whatever the end, so no reservation leaks.
 */
export interface RequestGate {
  admit(caller: CompletionCaller, request: AdmissionRequest): Promise<Admission>;
}

export interface AdmissionRequest {
  model: string;
  /** Prompt tokens (estimated from the prompt's size) plus the most the reply may use; computed only if a gate asks. */
  estimateTokens: () => Promise<number>;
  /**
   * Given when the request may go upstream before its verdict: a gate whose verdict costs a round trip
   * calls it (synchronously, at most once) when admission is all but certain, and the upstream call
   * then runs alongside the check. A refusal still throws from admit(), or rejects the admission's
   * verdict, and the caller aborts the call.
   */
  startEarly?: () => void;
}

export interface Admission {
  /** Rate-limit state to report to the caller (x-ratelimit-* headers on /v1). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Set when admit() answered before the store did (the request was started early): rejects with the
   * refusal should one come. A refusal before the upstream call has answered aborts the call; after, the
   * request is served past the limit.
   */
  readonly verdict?: Promise<void>;
  /**
   * The caller sent this request's X-Request-ID before, and the month counted it then: a retry, which
   * is served but not metered again. Known once the verdict is in (a request with its own id waits for it).
   */
  readonly repeated: boolean;
  /**
   * Resolves once the store has the settlement (or, unreachable, it is queued for retry), so a stream
   * can say [DONE] only when the quota counts it; it never rejects.
   */
  settle(usage: TokenUsage | undefined, options?: SettleOptions): Promise<void>;
}

export interface SettleOptions {
  /**
   * The caller waits for the settlement before it answers (a stream's last event): the store sends it,
   * and a verdict still held back for batching, now rather than with the next batch.
   */
  awaited?: boolean;
}

const openAdmission: Admission = { headers: {}, repeated: false, settle: async () => {} };

/** No limits: the embedded default until a plan's limits are configured. */
export const openGate: RequestGate = { admit: async () => openAdmission };
