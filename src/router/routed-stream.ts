import type { StreamChunk, TokenUsage } from '../providers/provider.ts';
import { ProviderError } from '../providers/provider-error.ts';
import { readyTaker } from '../providers/ready-chunks.ts';
import { estimateUsage, type PromptText } from '../providers/token-estimator.ts';
import { DomainError } from '../shared/errors.ts';
import type { Attempt, RequestScope } from './attempt.ts';
import type { CallOutcome } from './circuit-breaker.ts';
import type { DeploymentRef } from './deployment-state.ts';
import { judgeFailure } from './failure-policy.ts';

export interface RoutedStreamInit {
  /** The configured model serving the request (after tenant overrides). */
  model: string;
  /** The name the caller asked for, used in error messages. */
  requestedModel: string;
  deployment: DeploymentRef;
  attempts: number;
  ttftMs: number;
  first: StreamChunk;
  iterator: AsyncIterator<StreamChunk>;
  attempt: Attempt;
  scope: RequestScope;
  idleTimeoutMs: number;
  prompt: PromptText;
  tenantCredential: boolean;
  /** Told the kind of an upstream failure that broke the stream (metrics). */
  onUpstreamError?: ((kind: string) => void) | undefined;
  /** Called exactly once when the stream ends, however it ends. */
  settle(outcome: CallOutcome): void;
}

type StreamStatus = 'open' | 'completed' | 'cancelled' | 'failed';

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A stream that has produced its first chunk, so it is committed to its deployment: from here a
 * failure is never retried elsewhere (tokens may already be with the client) but ends the iteration
 * with a DomainError (UPSTREAM_ERROR, or UPSTREAM_TIMEOUT for an idle/total timeout) whose details
 * carry `partial: true`, `chunks` and the estimated `usage` of what was streamed. A completed stream
 * ends with the adapter's final chunk (finish reason and usage). Breaking out of the loop, return()
 * or cancel() abort the upstream at once.
 */
export class RoutedStream implements AsyncIterableIterator<StreamChunk, undefined> {
  readonly model: string;
  readonly deployment: DeploymentRef;
  readonly attempts: number;
  /** From the start of the request to the first chunk, retries included. */
  readonly ttftMs: number;
  readonly #requestedModel: string;
  #first: StreamChunk | undefined;
  readonly #iterator: AsyncIterator<StreamChunk>;
  readonly #takeReady: (() => StreamChunk | undefined) | undefined;
  readonly #attempt: Attempt;
  readonly #scope: RequestScope;
  readonly #idleTimeoutMs: number;
  readonly #prompt: PromptText;
  readonly #tenantCredential: boolean;
  readonly #settle: (outcome: CallOutcome) => void;
  readonly #onUpstreamError: ((kind: string) => void) | undefined;
  readonly #parts: string[] = [];
  #chunks = 0;
  #usage: TokenUsage | undefined;
  #status: StreamStatus = 'open';
  #pending = false;
  /** A break noticed while no next() was waiting, thrown by the next call instead of ending quietly. */
  #deferredFailure: (() => Promise<unknown>) | undefined;

  constructor(init: RoutedStreamInit) {
    this.model = init.model;
    this.#requestedModel = init.requestedModel;
    this.deployment = init.deployment;
    this.attempts = init.attempts;
    this.ttftMs = init.ttftMs;
    this.#first = init.first;
    this.#iterator = init.iterator;
    this.#takeReady = readyTaker(init.iterator);
    this.#attempt = init.attempt;
    this.#scope = init.scope;
    this.#idleTimeoutMs = init.idleTimeoutMs;
    this.#prompt = init.prompt;
    this.#tenantCredential = init.tenantCredential;
    this.#settle = init.settle;
    this.#onUpstreamError = init.onUpstreamError;
    // A caller that leaves, or a total timeout, must free the deployment even if nobody calls next().
    if (init.scope.signal.aborted) this.#onScopeAbort();
    else init.scope.signal.addEventListener('abort', this.#onScopeAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The text streamed so far. */
  get content(): string {
    return this.#parts.join('');
  }

  get status(): StreamStatus {
    return this.#status;
  }

  /** The upstream's usage once the stream completed; until then (or after a break) an estimate of what was streamed. */
  usage(): Promise<TokenUsage> {
    return this.#usage ? Promise.resolve(this.#usage) : estimateUsage(this.#prompt, this.content);
  }

  /**
   * The next chunk when it can be had without a wait (the first, or one the adapter already read),
   * else undefined: then next() waits for it, or says how the stream ended.
   */
  nextReady(): IteratorResult<StreamChunk, undefined> | undefined {
    if (this.#status !== 'open') return undefined;
    const first = this.#first;
    if (first) {
      this.#first = undefined;
      return this.#deliver(first);
    }
    const chunk = this.#takeReady?.();
    return chunk === undefined ? undefined : this.#deliver(chunk);
  }

  async next(): Promise<IteratorResult<StreamChunk, undefined>> {
    if (this.#status !== 'open') {
      const deferred = this.#deferredFailure;
      this.#deferredFailure = undefined;
      if (deferred) throw await deferred();
      return done;
    }
    const first = this.#first;
    if (first) {
      this.#first = undefined;
      return this.#deliver(first);
    }
    let result: IteratorResult<StreamChunk>;
    this.#pending = true;
    this.#attempt.waitStarted('idle', this.#idleTimeoutMs);
    try {
      result = await this.#iterator.next();
    } catch (error) {
      if (this.#status !== 'open') return done;
      throw await this.#fail(error);
    } finally {
      this.#pending = false;
      this.#attempt.waitEnded();
    }
    if (this.#status !== 'open') return done;
    if (result.done) {
      this.#end('completed', 'success');
      return done;
    }
    return this.#deliver(result.value);
  }

  async return(): Promise<IteratorResult<StreamChunk, undefined>> {
    this.cancel();
    return done;
  }

  /** Stops the stream and aborts the upstream call; what was streamed stays readable. */
  cancel(): void {
    if (this.#status !== 'open') return;
    this.#attempt.abort('the consumer stopped reading');
    this.#end('cancelled', 'neutral');
    this.#iterator.return?.().catch(() => undefined);
  }

  #deliver(chunk: StreamChunk): IteratorResult<StreamChunk, undefined> {
    this.#chunks++;
    if (chunk.delta) this.#parts.push(chunk.delta);
    if (chunk.usage) {
      // The adapter's final chunk: settle now, since a consumer may stop right after reading it.
      this.#usage = chunk.usage;
      this.#end('completed', 'success');
      this.#iterator.return?.().catch(() => undefined);
    }
    return { done: false, value: chunk };
  }

  async #fail(error: unknown): Promise<unknown> {
    if (!(error instanceof ProviderError) || this.#scope.callerAborted) {
      this.#end('failed', 'neutral');
      return this.#scope.callerAborted ? this.#scope.signal.reason : error;
    }
    const verdict = judgeFailure(error, {
      model: this.#requestedModel,
      timedOut: this.#attempt.timedOut,
      tenantCredential: this.#tenantCredential,
    });
    this.#end('failed', verdict.outcome);
    this.#onUpstreamError?.(error.kind);
    return this.#broken(verdict.error);
  }

  async #broken(cause: DomainError): Promise<DomainError> {
    const code = cause.code === 'UPSTREAM_TIMEOUT' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_ERROR';
    return new DomainError(code, `the stream for model "${this.#requestedModel}" broke off after ${this.#chunks} chunks`, {
      ...cause.details,
      partial: true,
      chunks: this.#chunks,
      usage: await this.usage(),
    });
  }

  #end(status: StreamStatus, outcome: CallOutcome): void {
    if (this.#status !== 'open') return;
    this.#status = status;
    this.#scope.signal.removeEventListener('abort', this.#onScopeAbort);
    this.#settle(outcome);
  }

  readonly #onScopeAbort = (): void => {
    // A pending next() sees the abort itself and classifies it; otherwise settle here, so the
    // deployment is freed even if nobody calls next() again, and make the next call throw.
    if (this.#pending || this.#status !== 'open') return;
    const expired = this.#scope.expired;
    this.#end('failed', expired ? 'failure' : 'neutral');
    this.#deferredFailure = async () => {
      if (!expired) return this.#scope.signal.reason;
      const timeout = judgeFailure(new ProviderError('aborted', this.deployment.provider, 'total timeout'), {
        model: this.#requestedModel,
        timedOut: 'total',
        tenantCredential: this.#tenantCredential,
      });
      return this.#broken(timeout.error);
    };
  };
}
