import type { BreakerPermit } from './circuit-breaker.ts';
import type { DeploymentEntry } from './routing-table.ts';

export interface Pick {
  entry: DeploymentEntry;
  permit: BreakerPermit;
}

/**
 * Walks a request's candidates in order, wrapping around, and hands out the next one whose breaker
 * lets a call through. Breakers are asked again at each step, since they move under concurrent load.
 */
export class CandidateCursor {
  readonly #candidates: readonly DeploymentEntry[];
  // Deployments whose Retry-After outlasts what this request can wait: passed over, not called.
  readonly #passedOver = new Set<DeploymentEntry>();
  #position = 0;

  constructor(candidates: readonly DeploymentEntry[]) {
    this.#candidates = candidates;
  }

  next(): Pick | undefined {
    const count = this.#candidates.length;
    for (let i = 0; i < count; i++) {
      const candidate = this.#candidates[(this.#position + i) % count] as DeploymentEntry;
      if (this.#passedOver.has(candidate)) continue;
      const permit = candidate.state.breaker.tryAcquire();
      if (permit) {
        this.#position = (this.#position + i + 1) % count;
        return { entry: candidate, permit };
      }
    }
    return undefined;
  }

  passOver(entry: DeploymentEntry): void {
    this.#passedOver.add(entry);
  }
}
