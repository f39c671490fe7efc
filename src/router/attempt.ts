import type { BreakerPermit, BreakerState, CallOutcome } from './circuit-breaker.ts';
import type { DeploymentState } from './deployment-state.ts';
import type { TimeoutPhase } from './failure-policy.ts';
import type { TraceSpan } from '../observability/tracing.ts';

/** The request-wide budget: the caller's signal and the total timeout, shared by every attempt. */
export class RequestScope {
  readonly startedAt = performance.now();
  readonly deadline: number;
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal | undefined;
  readonly #timer: NodeJS.Timeout;
  #expired = false;

  constructor(caller: AbortSignal | undefined, totalMs: number) {
    this.deadline = this.startedAt + totalMs;
    this.#caller = caller;
    if (caller?.aborted) this.#controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.#timer = setTimeout(this.#onExpired, totalMs);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get callerAborted(): boolean {
    return this.#caller?.aborted === true;
  }

  get expired(): boolean {
    return this.#expired;
  }

  remainingMs(): number {
    return this.deadline - performance.now();
  }

  /** Throws the caller's abort reason if the caller has gone. */
  throwIfCallerAborted(): void {
    this.#caller?.throwIfAborted();
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }

  readonly #onCallerAbort = (): void => {
    this.#controller.abort(this.#caller?.reason);
  };

  readonly #onExpired = (): void => {
    this.#expired = true;
    this.#controller.abort(new Error('total timeout'));
  };
}

/**
 * One call to one deployment: holds its in-flight slot and breaker permit until finish(), and
 * enforces the first-token and idle timeouts. Those clocks run only while the router is actually
 * waiting on the upstream, so a slow consumer downstream never counts against the deployment.
 */
export class Attempt {
  readonly state: DeploymentState;
  readonly permit: BreakerPermit;
  readonly startedAt = performance.now();
  timedOut: TimeoutPhase | undefined;
  /** This attempt's span, when tracing is on; ended with the attempt. */
  span: TraceSpan | undefined;
  readonly #controller = new AbortController();
  readonly #scope: RequestScope;
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;
  #phase: TimeoutPhase = 'first-token';
  #waiting = false;
  #finished = false;

  constructor(state: DeploymentState, permit: BreakerPermit, scope: RequestScope) {
    this.state = state;
    this.permit = permit;
    this.#scope = scope;
    state.inflight++;
    if (scope.signal.aborted) this.#onScopeAbort();
    else scope.signal.addEventListener('abort', this.#onScopeAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Starts the clock for a wait on the upstream. */
  waitStarted(phase: Exclude<TimeoutPhase, 'total'>, ms: number): void {
    this.#phase = phase;
    this.#waiting = true;
    if (this.#timer && this.#timerMs === ms) {
      this.#timer.refresh();
    } else {
      clearTimeout(this.#timer);
      this.#timerMs = ms;
      this.#timer = setTimeout(this.#onTimer, ms);
    }
  }

  waitEnded(): void {
    this.#waiting = false;
  }

  /** Aborts the upstream call (the consumer stopped, or the stream is being abandoned). */
  abort(reason: string): void {
    this.#controller.abort(new Error(reason));
  }

  /** Releases the in-flight slot and records the outcome on the breaker, once. */
  finish(outcome: CallOutcome): BreakerState | undefined {
    if (this.#finished) return undefined;
    this.#finished = true;
    this.state.inflight--;
    clearTimeout(this.#timer);
    this.#scope.signal.removeEventListener('abort', this.#onScopeAbort);
    return this.state.breaker.record(this.permit, outcome);
  }

  get finished(): boolean {
    return this.#finished;
  }

  readonly #onTimer = (): void => {
    if (!this.#waiting) return;
    this.timedOut = this.#phase;
    this.#controller.abort(new Error(`${this.#phase} timeout`));
  };

  readonly #onScopeAbort = (): void => {
    if (this.#scope.expired) this.timedOut ??= 'total';
    this.#controller.abort(this.#scope.signal.reason);
  };
}
