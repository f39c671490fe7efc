import { LRUCache } from 'lru-cache';
import type { LimitState } from './limiter-store.ts';
import type { EffectiveLimits } from './limits-directory.ts';

/** What this instance last heard from the store about one tenant and key, less what started early since. */
interface View {
  at: number;
  remaining: number[];
}

/** A verdict older than this says too little about the other instances' traffic since. */
const freshMs = 1_000;

/**
 * Decides whether a request may go upstream while the shared store checks its limits (a round trip to
 * Redis, the largest part of the latency the gateway adds). Only when the last verdict this instance
 * had for the same tenant and API key, under a second old, left at least half of every limit once the
 * requests started early since are counted: the store then refuses only if other instances used that
 * half within the second. Such a refusal aborts the upstream call before anything reached the client,
 * so what it costs is a cancelled call to the GPU, never a request served past a limit.
 */
export class EarlyStarts {
  readonly #views = new LRUCache<string, View>({ max: 10_000 });

  allow(key: string, limits: EffectiveLimits, estimate: number, now: number): boolean {
    const view = this.#views.get(key);
    if (view === undefined || now - view.at > freshMs || view.remaining.length !== limits.specs.length) return false;
    const costs = limits.specs.map((spec) => (spec.kind === 'tokens' ? estimate : 1));
    if (limits.specs.some((spec, i) => view.remaining[i]! - costs[i]! < spec.limit / 2)) return false;
    costs.forEach((cost, i) => (view.remaining[i]! -= cost));
    return true;
  }

  /** The store's verdict admitted a request: its states are the freshest view there is. */
  admitted(key: string, states: readonly LimitState[], now: number): void {
    this.#views.set(key, { at: now, remaining: states.map((state) => state.remaining) });
  }

  /** A refusal or an unreachable store: wait for verdicts until one admits again. */
  forget(key: string): void {
    this.#views.delete(key);
  }
}

export const earlyStartKey = (tenantId: string, apiKeyId: string | null) => `${tenantId}\u0000${apiKeyId ?? ''}`;
