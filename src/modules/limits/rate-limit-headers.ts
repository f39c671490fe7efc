import type { EffectiveLimits } from './limits-directory.ts';
import type { LimitState } from './limiter-store.ts';

/** OpenAI's duration style for x-ratelimit-reset-*: "17ms", "1s", "6.5s", "6m0s". */
export function formatResetDuration(duration: number): string {
  const ms = Math.ceil(duration);
  if (ms <= 0) return '0s';
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms - minutes * 60_000) / 1_000)}s`;
}

/** The state among `indexes` with the least left: the limit a caller meets first. */
function tightest(states: readonly LimitState[], indexes: readonly number[]): LimitState | undefined {
  let best: LimitState | undefined;
  for (const i of indexes) {
    const state = states[i];
    if (state && (!best || state.remaining < best.remaining)) best = state;
  }
  return best;
}

/** x-ratelimit-{limit,remaining,reset}-{requests,tokens}, OpenAI's names, for the limits the caller meets first. */
export function rateLimitHeaders(limits: EffectiveLimits, states: readonly LimitState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const requests = tightest(states, limits.requestSpecs);
  if (requests) {
    headers['x-ratelimit-limit-requests'] = String(requests.limit);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, requests.remaining));
    headers['x-ratelimit-reset-requests'] = formatResetDuration(requests.resetMs);
  }
  const tokens = tightest(states, limits.tokenSpecs);
  if (tokens) {
    headers['x-ratelimit-limit-tokens'] = String(tokens.limit);
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, tokens.remaining));
    headers['x-ratelimit-reset-tokens'] = formatResetDuration(tokens.resetMs);
  }
  return headers;
}
