import { setTimeout as sleep } from 'node:timers/promises';
import type { Tracing } from '../observability/tracing.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { DomainError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { Attempt, type RequestScope } from './attempt.ts';
import { CandidateCursor } from './candidate-cursor.ts';
import type { BreakerPermit } from './circuit-breaker.ts';
import { judgeFailure, type FailureVerdict } from './failure-policy.ts';
import { finishAttempt } from './finish-attempt.ts';
import type { RequestPlan } from './request-plan.ts';
import { tooLongToWait, waitBeforeCall, type RetryWaitSettings } from './retry-wait.ts';
import type { RouteOptions } from './route-options.ts';
import { allUnavailable, askedToWait, withDetails } from './routing-errors.ts';
import type { DeploymentEntry } from './routing-table.ts';
import { tenantCredential } from './tenant-routing.ts';

export interface UpstreamErrorObserver {
  upstreamError(deployment: string, kind: string): void;
}

export interface AttemptLoopSettings extends RetryWaitSettings {
  logger: Logger;
  /** Told of every failed upstream call (metrics). */
  observer: UpstreamErrorObserver | undefined;
  /** Set only when tracing is on: a span per attempt, child of the request's span. */
  tracing: Tracing | undefined;
}

/** The attempt that answered, still open: the caller records its latency and finishes it. */
export interface Success<T> {
  value: T;
  attempt: Attempt;
  attempts: number;
  entry: DeploymentEntry;
}

/**
 * Tries the candidates in order, wrapping around, for at most maxAttempts calls. A deployment
 * already tried in this request is retried only after a jittered exponential backoff, and never
 * before its Retry-After; one whose wait is longer than maxRetryWaitMs or the remaining budget is
 * passed over.
 */
export class AttemptLoop {
  readonly #settings: AttemptLoopSettings;

  constructor(settings: AttemptLoopSettings) {
    this.#settings = settings;
  }

  async run<T>(
    plan: RequestPlan,
    scope: RequestScope,
    options: RouteOptions,
    call: (entry: DeploymentEntry, attempt: Attempt) => Promise<T>,
  ): Promise<Success<T>> {
    const maxAttempts = plan.table.routing.maxAttempts;
    const cursor = new CandidateCursor(plan.candidates);
    const tried = new Set<DeploymentEntry>();
    let attempts = 0;
    let last: FailureVerdict | undefined;
    let waitRefused: number | undefined;

    while (attempts < maxAttempts) {
      const pick = cursor.next();
      if (!pick) break;
      const { entry, permit } = pick;

      const wait = waitBeforeCall(entry, tried.has(entry), attempts, this.#settings);
      if (wait > 0) {
        if (tooLongToWait(wait, scope.remainingMs(), this.#settings)) {
          entry.state.breaker.record(permit, 'neutral');
          cursor.passOver(entry);
          waitRefused = Math.min(waitRefused ?? wait, wait);
          continue;
        }
        try {
          await sleep(wait, undefined, { signal: scope.signal });
        } catch {
          entry.state.breaker.record(permit, 'neutral');
          scope.throwIfCallerAborted();
          break;
        }
      }

      attempts++;
      tried.add(entry);
      const attempt = this.#start(entry, permit, scope, options, attempts);
      try {
        return { value: await call(entry, attempt), attempt, attempts, entry };
      } catch (error) {
        attempt.waitEnded();
        if (scope.callerAborted || !(error instanceof ProviderError)) {
          finishAttempt(attempt, 'neutral', this.#settings.logger);
          scope.throwIfCallerAborted();
          throw error;
        }
        last = this.#failed(error, attempt, entry, plan.requested, options, attempts);
        if (!last.retry) break;
      }
    }
    throw giveUp(plan, attempts, last, waitRefused);
  }

  #start(entry: DeploymentEntry, permit: BreakerPermit, scope: RequestScope, options: RouteOptions, attempts: number): Attempt {
    const attempt = new Attempt(entry.state, permit, scope);
    const { tracing } = this.#settings;
    if (tracing && options.trace) {
      attempt.span = tracing.startSpan(`attempt ${entry.state.ref.name}`, {
        parent: options.trace,
        kind: 'client',
        attributes: { 'gen_ai.provider.name': entry.state.ref.provider, 'tollgate.deployment': entry.state.ref.name, 'gen_ai.request.model': entry.state.ref.model, 'tollgate.attempt': attempts },
      });
    }
    return attempt;
  }

  /** Judges an upstream failure, books it on the breaker and the deployment's Retry-After, and reports it. */
  #failed(error: ProviderError, attempt: Attempt, entry: DeploymentEntry, requested: string, options: RouteOptions, attempts: number): FailureVerdict {
    const verdict = judgeFailure(error, {
      model: requested,
      timedOut: attempt.timedOut,
      tenantCredential: tenantCredential(options.tenant, entry.state.ref.provider) !== undefined,
    });
    finishAttempt(attempt, verdict.outcome, this.#settings.logger);
    this.#settings.observer?.upstreamError(entry.state.ref.name, error.kind);
    if (error.retryAfterMs !== undefined) entry.state.retryAfterUntil = Date.now() + error.retryAfterMs;
    this.#settings.logger.warn(
      { model: requested, deployment: entry.state.ref.name, kind: error.kind, status: error.status, timeout: attempt.timedOut, attempt: attempts, requestId: options.requestId, err: error.message },
      'upstream attempt failed',
    );
    return verdict;
  }
}

/** The error for a request no attempt served: the last failure, else a refused wait, else no deployment. */
function giveUp(plan: RequestPlan, attempts: number, last: FailureVerdict | undefined, waitRefused: number | undefined): DomainError {
  if (last) return withDetails(last.error, { attempts, ...(waitRefused === undefined ? {} : { retryAfterMs: Math.ceil(waitRefused) }) });
  if (waitRefused !== undefined) return askedToWait(plan.requested, waitRefused);
  return allUnavailable(plan.requested, plan.model);
}
