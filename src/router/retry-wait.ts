import { backoffMs, type BackoffSettings } from './failure-policy.ts';
import type { DeploymentEntry } from './routing-table.ts';

export interface RetryWaitSettings {
  /** Backoff before retrying a deployment already tried in this request. */
  backoff: BackoffSettings;
  /** Longest wait served inside a request; longer ones pass the deployment over. */
  maxRetryWaitMs: number;
  random: () => number;
}

/**
 * How long to wait before calling a deployment: a jittered exponential backoff when this request
 * already tried it, and never less than what is left of its Retry-After.
 */
export function waitBeforeCall(entry: DeploymentEntry, retrying: boolean, callsMade: number, settings: RetryWaitSettings): number {
  const backoff = retrying ? backoffMs(callsMade - 1, settings.backoff, settings.random) : 0;
  return Math.max(backoff, entry.state.retryAfterUntil - Date.now());
}

/** A wait longer than the router serves, or one the request's budget would not survive. */
export function tooLongToWait(waitMs: number, remainingMs: number, settings: RetryWaitSettings): boolean {
  return waitMs > settings.maxRetryWaitMs || waitMs >= remainingMs;
}
