import type { LimitState } from './limiter-store.ts';

/** Where one kind of rate limit stands: the tightest of its windows (a minute's, an hour's...). */
export interface RateWindow {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** The tightest of the windows at `indexes` of `states` (the store's peek), or null when none applies. */
export function tightestWindow(states: readonly LimitState[], indexes: readonly number[]): RateWindow | null {
  let tightest: LimitState | undefined;
  for (const i of indexes) if (states[i] && (!tightest || states[i].remaining < tightest.remaining)) tightest = states[i];
  return tightest ? { limit: tightest.limit, remaining: tightest.remaining, resetSeconds: Math.ceil(tightest.resetMs / 1000) } : null;
}
