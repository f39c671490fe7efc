import type { ProviderError } from '../providers/provider-error.ts';
import { DomainError } from '../shared/errors.ts';
import type { CallOutcome } from './circuit-breaker.ts';

export type TimeoutPhase = 'first-token' | 'idle' | 'response' | 'total';

export interface FailureContext {
  /** The configured model name the caller is served, for messages. */
  model: string;
  /** Set when one of the router's own timers ended the attempt. */
  timedOut: TimeoutPhase | undefined;
  /** The call used the tenant's own key: a refused key is the tenant's problem, not the deployment's. */
  tenantCredential: boolean;
}

export interface FailureVerdict {
  /** Worth another attempt (on the next deployment, or this one after a backoff). */
  retry: boolean;
  /** What the failure means for the deployment's breaker. */
  outcome: CallOutcome;
  /** What the caller sees if no later attempt succeeds. */
  error: DomainError;
}

// Statuses that say the deployment is misconfigured (key, model name, route), not that the caller's
// request is wrong: another deployment may well serve it.
const deploymentSideStatuses = new Set([401, 403, 404]);

/**
 * The router's policy for a failed attempt. Connect errors, timeouts, 429 and 5xx are retried and
 * count against the breaker; the caller's own 4xx is relayed as BAD_USER_INPUT and never retried.
 * Messages name the model, never the provider or its address.
 */
export function judgeFailure(failure: ProviderError, context: FailureContext): FailureVerdict {
  const { model } = context;
  const details = (extra: Record<string, unknown> = {}) => ({ model, ...extra });

  if (context.timedOut || failure.kind === 'timeout') {
    const phase = context.timedOut ?? 'upstream';
    return {
      retry: context.timedOut !== 'total',
      outcome: 'failure',
      error: new DomainError('UPSTREAM_TIMEOUT', `the upstream for model "${model}" timed out (${phase})`, details({ timeout: phase })),
    };
  }
  switch (failure.kind) {
    case 'connect':
      return {
        retry: true,
        outcome: 'failure',
        error: new DomainError('UPSTREAM_UNAVAILABLE', `no upstream for model "${model}" could be reached`, details()),
      };
    case 'rate_limited':
      return {
        retry: true,
        outcome: 'failure',
        error: new DomainError(
          'UPSTREAM_UNAVAILABLE',
          `the upstream for model "${model}" is over capacity`,
          details(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
        ),
      };
    case 'server':
    case 'protocol':
      return {
        retry: true,
        outcome: 'failure',
        error:
          failure.status === 503
            ? new DomainError('UPSTREAM_UNAVAILABLE', `the upstream for model "${model}" is unavailable`, details())
            : new DomainError('UPSTREAM_ERROR', `the upstream for model "${model}" failed`, details({ upstreamStatus: failure.status })),
      };
    case 'client':
      if (failure.status !== undefined && deploymentSideStatuses.has(failure.status)) {
        const refusedKey = context.tenantCredential && failure.status !== 404;
        return {
          retry: true,
          outcome: refusedKey ? 'neutral' : 'failure',
          error: new DomainError(
            'UPSTREAM_ERROR',
            refusedKey
              ? `the upstream for model "${model}" refused your provider credential`
              : `the upstream for model "${model}" refused the request (HTTP ${failure.status})`,
            details({ upstreamStatus: failure.status }),
          ),
        };
      }
      return {
        retry: false,
        outcome: 'neutral',
        error: new DomainError('BAD_USER_INPUT', failure.upstreamMessage ?? `the upstream for model "${model}" refused the request`, details({ upstreamStatus: failure.status })),
      };
    case 'aborted':
      // Only reached when the attempt was aborted by something other than the caller or a timer.
      return { retry: true, outcome: 'neutral', error: new DomainError('UPSTREAM_ERROR', `the call for model "${model}" was aborted`, details()) };
  }
}

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/** Exponential backoff with full jitter: uniformly random in [0, min(max, base * 2^retry)). */
export function backoffMs(retry: number, settings: BackoffSettings, random: () => number): number {
  return Math.floor(random() * Math.min(settings.maxMs, settings.baseMs * 2 ** retry));
}
