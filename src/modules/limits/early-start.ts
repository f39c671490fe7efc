import { growingLru } from '../../shared/growing-lru.ts';
import type { LimitState } from './limiter-store.ts';
import type { EffectiveLimits } from './limits-directory.ts';

/** What this instance last heard from the store about one tenant and key, less what started early since. */
interface View {
  at: number;
  states: LimitState[];
}

/** A verdict older than this says too little about the other instances' traffic since. */
const freshMs = 1_000;

/**
 * Decides whether a request may go ahead while the shared store checks its limits (a round trip to
 * Redis, the largest part of the latency the gateway adds). Only when the last verdict this instance
 * had for the same tenant, API key, billing period and limits, under a second old, left at least half
 * of every limit once the requests that went ahead since are counted: the store then refuses only if
 * other instances used that half within the second.
 */
export class EarlyStarts {
  readonly #views = growingLru<string, View>(10_000);

  /** The limits' states once this request is counted, if it may go ahead; undefined: wait for the verdict. */
  allow(key: string, limits: EffectiveLimits, estimate: number, now: number): LimitState[] | undefined {
    const view = this.#views.get(key);
    if (view === undefined || now - view.at > freshMs || view.states.length !== limits.specs.length) return undefined;
    const specs = limits.specs;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const state = view.states[i]!;
      // A limit changed since (on any instance: the directory hears of it at once) voids the view.
      if (state.limit !== spec.limit || state.remaining - (spec.kind === 'tokens' ? estimate : 1) < spec.limit / 2) return undefined;
    }
    view.states = view.states.map((state, i) => ({ ...state, remaining: state.remaining - (specs[i]!.kind === 'tokens' ? estimate : 1) }));
    return view.states;
  }

  /** The store's verdict admitted a request: its states are the freshest view there is. */
  admitted(key: string, states: readonly LimitState[], now: number): void {
    this.#views.set(key, { at: now, states: [...states] });
  }

  /** A refusal or an unreachable store: wait for verdicts until one admits again. */
  forget(key: string): void {
    this.#views.delete(key);
  }
}

export const earlyStartKey = (tenantId: string, apiKeyId: string | null, period: string) => `${tenantId}\u0000${apiKeyId ?? ''}\u0000${period}`;
