import { CircuitBreaker, type BreakerSettings, type BreakerState } from './circuit-breaker.ts';

/** Names one deployment: a provider serving an upstream model. */
export interface DeploymentRef {
  /** "<provider>/<upstream model>", unique across the config. */
  name: string;
  provider: string;
  model: string;
}

export interface DeploymentHealth extends DeploymentRef {
  /** The configured models this deployment serves. */
  servesModels: string[];
  /** Result of the last health probe; null before the first one. */
  healthy: boolean | null;
  lastCheckedAt: Date | null;
  lastError: string | null;
  breaker: BreakerState;
  consecutiveFailures: number;
  inflight: number;
  /**
   * EWMA of time to first token in ms; null until the first success. A non-streaming call adds its
   * whole answer time, which is when its first token reaches the gateway.
   */
  latencyMs: number | null;
  /** When a Retry-After from this deployment ends, if one is pending. */
  retryAfterUntil: Date | null;
}

// Weight of the newest sample in the latency average: recent enough to follow a backend that slows
// down within a handful of requests, smooth enough that one outlier does not reorder deployments.
const ewmaAlpha = 0.3;

/**
 * Live state of one deployment, shared by every model that routes to it and kept across config
 * reloads as long as its provider's settings do not change.
 */
export class DeploymentState {
  readonly ref: DeploymentRef;
  readonly breaker: CircuitBreaker;
  inflight = 0;
  latencyMs: number | undefined;
  healthy: boolean | undefined;
  lastCheckedAt: Date | undefined;
  lastError: string | undefined;
  /** Epoch ms before which the deployment asked not to be called (Retry-After). */
  retryAfterUntil = 0;

  constructor(ref: DeploymentRef, breaker: BreakerSettings, now?: () => number) {
    this.ref = ref;
    this.breaker = new CircuitBreaker(breaker, now);
  }

  recordLatency(ms: number): void {
    this.latencyMs = this.latencyMs === undefined ? ms : ewmaAlpha * ms + (1 - ewmaAlpha) * this.latencyMs;
  }

  coolingDown(now: number): boolean {
    return this.retryAfterUntil > now;
  }

  snapshot(servesModels: string[]): DeploymentHealth {
    return {
      ...this.ref,
      servesModels,
      healthy: this.healthy ?? null,
      lastCheckedAt: this.lastCheckedAt ?? null,
      lastError: this.lastError ?? null,
      breaker: this.breaker.state,
      consecutiveFailures: this.breaker.consecutiveFailures,
      inflight: this.inflight,
      latencyMs: this.latencyMs === undefined ? null : Math.round(this.latencyMs * 10) / 10,
      retryAfterUntil: this.retryAfterUntil > Date.now() ? new Date(this.retryAfterUntil) : null,
    };
  }
}
