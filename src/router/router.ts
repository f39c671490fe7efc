import { setTimeout as sleep } from 'node:timers/promises';
import type { InferenceConfigFile, ModelConfig } from '../config.ts';
import type {
  CallOptions,
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResult,
  GenerationResult,
  LlmProvider,
  StreamChunk,
} from '../providers/provider.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { PromptText } from '../providers/token-estimator.ts';
import { badInput, DomainError, notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { TraceSpan, Tracing } from '../observability/tracing.ts';
import { Attempt, RequestScope } from './attempt.ts';
import { orderCandidates } from './candidates.ts';
import type { BreakerPermit, CallOutcome } from './circuit-breaker.ts';
import type { DeploymentHealth, DeploymentRef } from './deployment-state.ts';
import { backoffMs, judgeFailure, type BackoffSettings, type FailureVerdict } from './failure-policy.ts';
import { requestNeeds, type Need } from './capabilities-needed.ts';
import { RoutedStream } from './routed-stream.ts';
import type { RequestFacts, RouteDecision } from './route-rules.ts';
import { buildRoutingTable, type DeploymentEntry, type RoutedModel, type RoutingTable } from './routing-table.ts';
import { resolveModelName, tenantCredential, type TenantRoutingPrefs } from './tenant-routing.ts';

export interface RouterOptions {
  inference: InferenceConfigFile;
  logger: Logger;
  /** Where providers' apiKeyEnv variables are read (process.env by default). */
  env?: NodeJS.ProcessEnv;
  /** Randomness for tie-breaks, exploration and jitter; tests pass a seeded one. */
  random?: () => number;
  /** Monotonic clock for breaker cooldowns; tests move it. */
  now?: () => number;
  /** Backoff before retrying a deployment already tried in this request. */
  backoff?: Partial<BackoffSettings>;
  /** Longest Retry-After the router waits out inside a request; longer ones fail at once with retryAfterMs. */
  maxRetryWaitMs?: number;
  /** Told of every failed upstream call (metrics). */
  observer?: { upstreamError(deployment: string, kind: string): void };
  /** Set only when tracing is on: a span per attempt, child of the request's span. */
  tracing?: Tracing;
}

export interface RouteOptions {
  /** The caller's lifetime: when it aborts, the upstream request is aborted too. */
  signal?: AbortSignal;
  tenant?: TenantRoutingPrefs;
  requestId?: string;
  /** The request's span (tracing on): each attempt gets a child span whose traceparent goes upstream. */
  trace?: TraceSpan | undefined;
  /** The caller's traceparent, sent upstream as it is when the gateway does not trace. */
  traceparent?: string | undefined;
  /** What the request asks of its deployment (set by the router from the request itself). */
  needs?: readonly Need[];
  /** The model select() chose for this request; without it the requested name is resolved here. */
  choice?: ModelChoice;
}

/** The configured model a request goes to, and the route decision that chose it, if any. */
export interface ModelChoice {
  model: string;
  route?: RouteDecision;
}

export interface Routed<T> {
  result: T;
  /** The configured model that served the request (after tenant overrides). */
  model: string;
  deployment: DeploymentRef;
  attempts: number;
  /** From the start of the request, retries included; for non-streaming calls the same as latencyMs. */
  ttftMs: number;
  latencyMs: number;
}

export type RoutedChatRequest = Omit<ChatRequest, 'model'>;
export type RoutedCompletionRequest = Omit<CompletionRequest, 'model'>;
export type RoutedEmbeddingRequest = Omit<EmbeddingRequest, 'model'>;

export interface ModelInfo {
  /** The name a client asks for. */
  name: string;
  /** The configured model that serves it (differs under a tenant's override). */
  servedBy: string;
  kind: ModelConfig['kind'];
  contextWindow: number | null;
  price: ModelConfig['price'] | null;
  /** At least one deployment's breaker lets calls through. */
  available: boolean;
}

type ModelKind = ModelConfig['kind'];

interface Plan {
  table: RoutingTable;
  model: RoutedModel;
  requested: string;
  candidates: DeploymentEntry[];
}

interface Success<T> {
  value: T;
  attempt: Attempt;
  attempts: number;
  entry: DeploymentEntry;
}

interface OpenedStream {
  iterator: AsyncIterator<StreamChunk>;
  first: StreamChunk;
}

const defaultBackoff: BackoffSettings = { baseMs: 100, maxMs: 2_000 };

function withNeeds(options: RouteOptions, request: RoutedChatRequest): RouteOptions {
  const needs = requestNeeds(request);
  return needs.length === 0 ? options : { ...options, needs };
}

/** A need no deployment of the model meets is the caller's mistake (400), named by its field. */
function refuseUnmet(model: RoutedModel, requested: string, needs: readonly Need[]): void {
  for (const need of needs) {
    if (!model.entries.some((entry) => entry.capabilities.has(need.capability))) {
      throw badInput(`model "${requested}" cannot serve ${need.field}: none of its deployments has the "${need.capability}" capability`, { param: need.field });
    }
  }
  if (!model.entries.some((entry) => able(entry, needs))) {
    throw badInput(`model "${requested}" has no deployment with all of ${needs.map((n) => `"${n.capability}"`).join(', ')}`, { param: needs[0]!.field });
  }
}

const able = (entry: DeploymentEntry, needs: readonly Need[]) => needs.every((need) => entry.capabilities.has(need.capability));

/** The candidates that can do all the request needs; one that only deployments out of rotation meet leaves none available. */
function capable(candidates: DeploymentEntry[], model: RoutedModel, requested: string, needs: readonly Need[]): DeploymentEntry[] {
  refuseUnmet(model, requested, needs);
  return candidates.filter((entry) => able(entry, needs));
}

export function createRouter(options: RouterOptions): Router {
  return new Router(options);
}

/**
 * Chooses a deployment per request and carries the request through retries, failover, circuit
 * breakers and timeouts. Policy lives here; adapters only report what happened.
 */
export class Router {
  #table: RoutingTable;
  readonly #logger: Logger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #random: () => number;
  readonly #now: (() => number) | undefined;
  readonly #backoff: BackoffSettings;
  readonly #maxRetryWaitMs: number;
  readonly #observer: RouterOptions['observer'];
  readonly #tracing: Tracing | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #probeRound: Promise<void> | undefined;

  constructor(options: RouterOptions) {
    this.#logger = options.logger;
    this.#env = options.env ?? process.env;
    this.#random = options.random ?? Math.random;
    this.#now = options.now;
    this.#backoff = { ...defaultBackoff, ...options.backoff };
    this.#maxRetryWaitMs = options.maxRetryWaitMs ?? 5_000;
    this.#observer = options.observer;
    this.#tracing = options.tracing;
    this.#table = buildRoutingTable(options.inference, undefined, { env: this.#env, now: this.#now }).table;
  }

  /**
   * Non-streaming calls wait for the whole answer, bounded per attempt by timeoutsMs.response when
   * set and always by the total budget (upstreams send nothing before generation is done).
   */
  chat(model: string, request: RoutedChatRequest, options: RouteOptions = {}): Promise<Routed<GenerationResult>> {
    return this.#call(model, 'chat', withNeeds(options, request), (entry, call) => entry.provider.chat({ ...request, model: entry.state.ref.model }, call));
  }

  complete(model: string, request: RoutedCompletionRequest, options: RouteOptions = {}): Promise<Routed<GenerationResult>> {
    return this.#call(model, 'chat', options, (entry, call) => entry.provider.complete({ ...request, model: entry.state.ref.model }, call));
  }

  /** Embeddings have no generation phase: the answer is held to the first-token timeout. */
  embeddings(model: string, request: RoutedEmbeddingRequest, options: RouteOptions = {}): Promise<Routed<EmbeddingResult>> {
    return this.#call(model, 'embedding', options, (entry, call) =>
      entry.provider.embeddings({ ...request, model: entry.state.ref.model }, call),
    );
  }

  /**
   * Resolves once the first chunk has arrived, so every failure before it (including "no deployment
   * available") is still an ordinary error the caller can answer with a status code.
   */
  stream(model: string, request: RoutedChatRequest, options: RouteOptions = {}): Promise<RoutedStream> {
    return this.#openStream(model, withNeeds(options, request), request.messages, (entry, call) =>
      entry.provider.stream({ ...request, model: entry.state.ref.model }, call),
    );
  }

  streamCompletion(model: string, request: RoutedCompletionRequest, options: RouteOptions = {}): Promise<RoutedStream> {
    return this.#openStream(model, options, request.prompt, (entry, call) =>
      entry.provider.streamCompletion({ ...request, model: entry.state.ref.model }, call),
    );
  }

  /**
   * Whether a Responses API request for the model is passed through: only when every deployment's
   * provider serves the API itself; otherwise it is translated to Chat Completions, which all serve.
   */
  servesResponses(requested: string, tenant?: TenantRoutingPrefs): boolean {
    const model = this.#table.models.get(resolveModelName(requested, tenant));
    return model !== undefined && model.entries.length > 0 && model.entries.every((entry) => entry.provider.servesResponses);
  }

  /** The models a tenant may ask for (all configured ones without a tenant). */
  models(tenant?: TenantRoutingPrefs): ModelInfo[] {
    const table = this.#table;
    const names = tenant?.allowedModels ?? [...new Set([...table.models.keys(), ...Object.keys(tenant?.modelOverrides ?? {})])];
    return names.flatMap((name) => {
      const model = table.models.get(resolveModelName(name, tenant));
      return model ? [modelInfo(name, model)] : [];
    });
  }

  /** One model as the tenant sees it; NOT_FOUND when it does not exist or is not allowed. */
  model(name: string, tenant?: TenantRoutingPrefs): ModelInfo {
    const model = this.#table.models.get(resolveModelName(name, tenant));
    if (!model) throw notFound('model', name);
    return modelInfo(name, model);
  }

  /**
   * Switches to a new validated config for requests that start from now on; requests in flight
   * (streams included) finish on the config they started with. Unchanged providers keep their
   * connection pools and deployment state (breakers, latency).
   */
  reload(file: InferenceConfigFile): void {
    const previous = this.#table;
    const { table, obsolete } = buildRoutingTable(file, previous, { env: this.#env, now: this.#now });
    this.#table = table;
    previous.retire(() => void this.#closeProviders(obsolete));
    this.#logger.info({ models: table.models.size, providers: table.providers.size }, 'inference config applied');
  }

  health(): DeploymentHealth[] {
    const table = this.#table;
    return [...table.states.values()].map((state) => state.snapshot(table.servedModels.get(state.ref.name) ?? []));
  }

  /** Probes every provider now and then every intervalMs; results show in health() and order routing. */
  startHealthProbes(intervalMs: number, timeoutMs = Math.min(intervalMs, 5_000)): void {
    this.stopHealthProbes();
    void this.probeHealth(timeoutMs);
    this.#probeTimer = setInterval(() => void this.probeHealth(timeoutMs), intervalMs);
    this.#probeTimer.unref();
  }

  stopHealthProbes(): void {
    clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  /** One probe round (a round still running is joined, not doubled). */
  probeHealth(timeoutMs = 5_000): Promise<void> {
    this.#probeRound ??= this.#probeAll(timeoutMs).finally(() => {
      this.#probeRound = undefined;
    });
    return this.#probeRound;
  }

  async close(): Promise<void> {
    this.stopHealthProbes();
    await this.#probeRound;
    await this.#closeProviders([...this.#table.providers.values()].map((slot) => slot.provider));
  }

  /**
   * Refuses a request for a model the tenant cannot use, of the wrong kind, or needing a capability
   * none of its deployments has, before anything else (limits included) is spent on it: NOT_FOUND or
   * BAD_USER_INPUT.
   */
  check(requested: string, kind: ModelKind, tenant?: TenantRoutingPrefs, needs: readonly Need[] = []): void {
    const model = this.#model(this.#table, requested, kind, tenant);
    if (needs.length > 0) refuseUnmet(model, requested, needs);
  }

  /** True for a name requests may be sent to: a configured chat model or a route. */
  routable(name: string): boolean {
    const table = this.#table;
    return table.routes.has(name) || table.models.get(name)?.config.kind === 'chat';
  }

  /**
   * The configured model a request goes to: `name` (an experiment's variant) or else the requested
   * name after the tenant's overrides, through its route's rules when it names a route. Refuses as
   * check() does; a route no model of which can serve the request is a 400 naming the unmet need.
   */
  select(requested: string, kind: ModelKind, tenant: TenantRoutingPrefs | undefined, facts: () => RequestFacts, name?: string): ModelChoice {
    const table = this.#table;
    // The tenant's allowed names apply to the requested name even when an experiment picks the model.
    const resolved = resolveModelName(requested, tenant);
    return this.#target(table, name ?? resolved, requested, kind, facts);
  }

  #target(table: RoutingTable, resolved: string, requested: string, kind: ModelKind, facts: () => RequestFacts): ModelChoice {
    const route = table.routes.get(resolved);
    if (!route) {
      this.#configured(table, resolved, requested, kind);
      return { model: resolved };
    }
    if (kind !== 'chat') throw badInput(`"${requested}" is a route among chat models; it does not produce embeddings`, { model: requested });
    const decision = route.decide(facts());
    return { model: decision.model, route: decision };
  }

  #model(table: RoutingTable, requested: string, kind: ModelKind, tenant: TenantRoutingPrefs | undefined): RoutedModel {
    return this.#configured(table, resolveModelName(requested, tenant), requested, kind);
  }

  #configured(table: RoutingTable, name: string, requested: string, kind: ModelKind): RoutedModel {
    const model = table.models.get(name);
    if (!model) throw notFound('model', requested);
    if (model.config.kind !== kind) {
      throw badInput(
        kind === 'embedding'
          ? `model "${requested}" is a chat model; it does not produce embeddings`
          : `model "${requested}" is an embedding model; it does not chat or complete`,
        { model: requested },
      );
    }
    return model;
  }

  #plan(requested: string, kind: ModelKind, options: RouteOptions): Plan {
    const table = this.#table;
    const model = options.choice ? this.#configured(table, options.choice.model, requested, kind) : this.#model(table, requested, kind, options.tenant);
    let candidates = orderCandidates(model, table.routing.strategy, options.tenant, Date.now(), this.#random);
    if (options.needs?.length) candidates = capable(candidates, model, requested, options.needs);
    if (candidates.length === 0) throw allUnavailable(requested, model);
    return { table, model, requested, candidates };
  }

  async #call<T>(
    requested: string,
    kind: ModelKind,
    options: RouteOptions,
    invoke: (entry: DeploymentEntry, call: CallOptions) => Promise<T>,
  ): Promise<Routed<T>> {
    const plan = this.#plan(requested, kind, options);
    const { timeoutsMs } = plan.table.routing;
    const scope = new RequestScope(options.signal, timeoutsMs.total);
    plan.table.enter();
    try {
      const { value, attempt, attempts, entry } = await this.#attempts(plan, scope, options, (entry, attempt) => {
        if (kind === 'embedding') attempt.waitStarted('first-token', timeoutsMs.firstToken);
        else if (timeoutsMs.response !== undefined) attempt.waitStarted('response', timeoutsMs.response);
        return invoke(entry, this.#callOptions(entry, attempt, options));
      });
      attempt.state.recordLatency(performance.now() - attempt.startedAt);
      this.#finish(attempt, 'success');
      const latencyMs = performance.now() - scope.startedAt;
      return { result: value, model: plan.model.config.name, deployment: entry.state.ref, attempts, ttftMs: latencyMs, latencyMs };
    } finally {
      scope.dispose();
      plan.table.leave();
    }
  }

  async #openStream(
    requested: string,
    options: RouteOptions,
    prompt: PromptText,
    open: (entry: DeploymentEntry, call: CallOptions) => AsyncIterable<StreamChunk>,
  ): Promise<RoutedStream> {
    const plan = this.#plan(requested, 'chat', options);
    const { timeoutsMs } = plan.table.routing;
    const scope = new RequestScope(options.signal, timeoutsMs.total);
    plan.table.enter();
    let opened: Success<OpenedStream>;
    try {
      opened = await this.#attempts(plan, scope, options, async (entry, attempt): Promise<OpenedStream> => {
        const iterator = open(entry, this.#callOptions(entry, attempt, options))[Symbol.asyncIterator]();
        attempt.waitStarted('first-token', timeoutsMs.firstToken);
        const first = await iterator.next();
        attempt.waitEnded();
        if (first.done) throw new ProviderError('protocol', entry.state.ref.provider, 'the stream ended before its first chunk');
        return { iterator, first: first.value };
      });
    } catch (error) {
      scope.dispose();
      plan.table.leave();
      throw error;
    }
    const { value, attempt, attempts, entry } = opened;
    attempt.state.recordLatency(performance.now() - attempt.startedAt);
    return new RoutedStream({
      model: plan.model.config.name,
      requestedModel: requested,
      deployment: entry.state.ref,
      attempts,
      ttftMs: performance.now() - scope.startedAt,
      first: value.first,
      iterator: value.iterator,
      attempt,
      scope,
      idleTimeoutMs: timeoutsMs.idle,
      prompt,
      tenantCredential: tenantCredential(options.tenant, entry.state.ref.provider) !== undefined,
      onUpstreamError: this.#observer ? (kind) => this.#observer?.upstreamError(entry.state.ref.name, kind) : undefined,
      settle: (outcome) => {
        this.#finish(attempt, outcome);
        scope.dispose();
        plan.table.leave();
      },
    });
  }

  /**
   * Tries the candidates in order, wrapping around, for at most maxAttempts calls. A deployment
   * already tried in this request is retried only after a jittered exponential backoff, and never
   * before its Retry-After; one whose wait is longer than maxRetryWaitMs or the remaining budget is
   * passed over. Breakers are asked again at each step, since they move under concurrent load.
   */
  async #attempts<T>(
    plan: Plan,
    scope: RequestScope,
    options: RouteOptions,
    call: (entry: DeploymentEntry, attempt: Attempt) => Promise<T>,
  ): Promise<Success<T>> {
    const { candidates, requested } = plan;
    const maxAttempts = plan.table.routing.maxAttempts;
    const tried = new Set<DeploymentEntry>();
    // Deployments whose Retry-After outlasts what this request can wait: passed over, not called.
    const passedOver = new Set<DeploymentEntry>();
    let attempts = 0;
    let cursor = 0;
    let last: FailureVerdict | undefined;
    let waitRefused: number | undefined;

    while (attempts < maxAttempts) {
      let entry: DeploymentEntry | undefined;
      let permit: BreakerPermit | undefined;
      for (let i = 0; i < candidates.length && !permit; i++) {
        const candidate = candidates[(cursor + i) % candidates.length] as DeploymentEntry;
        if (passedOver.has(candidate)) continue;
        permit = candidate.state.breaker.tryAcquire();
        if (permit) {
          entry = candidate;
          cursor = (cursor + i + 1) % candidates.length;
        }
      }
      if (!entry || !permit) break;

      const backoff = tried.has(entry) ? backoffMs(attempts - 1, this.#backoff, this.#random) : 0;
      const wait = Math.max(backoff, entry.state.retryAfterUntil - Date.now());
      if (wait > 0) {
        if (wait > this.#maxRetryWaitMs || wait >= scope.remainingMs()) {
          entry.state.breaker.record(permit, 'neutral');
          passedOver.add(entry);
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
      const attempt = new Attempt(entry.state, permit, scope);
      if (this.#tracing && options.trace) {
        attempt.span = this.#tracing.startSpan(`attempt ${entry.state.ref.name}`, {
          parent: options.trace,
          kind: 'client',
          attributes: { 'gen_ai.provider.name': entry.state.ref.provider, 'tollgate.deployment': entry.state.ref.name, 'gen_ai.request.model': entry.state.ref.model, 'tollgate.attempt': attempts },
        });
      }
      try {
        return { value: await call(entry, attempt), attempt, attempts, entry };
      } catch (error) {
        attempt.waitEnded();
        if (scope.callerAborted || !(error instanceof ProviderError)) {
          this.#finish(attempt, 'neutral');
          scope.throwIfCallerAborted();
          throw error;
        }
        const verdict = judgeFailure(error, {
          model: requested,
          timedOut: attempt.timedOut,
          tenantCredential: tenantCredential(options.tenant, entry.state.ref.provider) !== undefined,
        });
        this.#finish(attempt, verdict.outcome);
        this.#observer?.upstreamError(entry.state.ref.name, error.kind);
        if (error.retryAfterMs !== undefined) entry.state.retryAfterUntil = Date.now() + error.retryAfterMs;
        this.#logger.warn(
          { model: requested, deployment: entry.state.ref.name, kind: error.kind, status: error.status, timeout: attempt.timedOut, attempt: attempts, requestId: options.requestId, err: error.message },
          'upstream attempt failed',
        );
        last = verdict;
        if (!verdict.retry) break;
      }
    }
    if (last) throw withDetails(last.error, { attempts, ...(waitRefused === undefined ? {} : { retryAfterMs: Math.ceil(waitRefused) }) });
    if (waitRefused !== undefined) {
      throw new DomainError('UPSTREAM_UNAVAILABLE', `the upstream for model "${requested}" asked to wait before the next request`, {
        model: requested,
        retryAfterMs: Math.ceil(waitRefused),
      });
    }
    throw allUnavailable(requested, plan.model);
  }

  #callOptions(entry: DeploymentEntry, attempt: Attempt, options: RouteOptions): CallOptions {
    return {
      signal: attempt.signal,
      apiKey: tenantCredential(options.tenant, entry.state.ref.provider),
      requestId: options.requestId,
      traceparent: attempt.span?.traceparent ?? options.traceparent,
    };
  }

  #finish(attempt: Attempt, outcome: CallOutcome): void {
    const transition = attempt.finish(outcome);
    if (attempt.span) {
      attempt.span.setAttributes({ 'tollgate.outcome': outcome });
      if (outcome === 'failure') attempt.span.fail(new Error('upstream call failed'));
      attempt.span.end();
      attempt.span = undefined;
    }
    if (transition === 'open') {
      this.#logger.warn({ deployment: attempt.state.ref.name }, 'circuit breaker opened: deployment skipped until its cooldown ends');
    } else if (transition === 'closed') {
      this.#logger.info({ deployment: attempt.state.ref.name }, 'circuit breaker closed: deployment back in rotation');
    }
  }

  async #probeAll(timeoutMs: number): Promise<void> {
    const table = this.#table;
    await Promise.all(
      [...table.providers.values()].map(async (slot) => {
        const signal = AbortSignal.timeout(timeoutMs);
        let error: string | undefined;
        try {
          await slot.provider.health({ signal });
        } catch (cause) {
          error = signal.aborted ? `no answer within ${timeoutMs} ms` : cause instanceof Error ? cause.message : String(cause);
        }
        for (const state of table.states.values()) {
          if (state.ref.provider !== slot.config.name) continue;
          if (state.healthy !== false && error !== undefined) {
            this.#logger.warn({ deployment: state.ref.name, err: error }, 'health probe failed');
          } else if (state.healthy === false && error === undefined) {
            this.#logger.info({ deployment: state.ref.name }, 'health probe passed again');
          }
          state.healthy = error === undefined;
          state.lastCheckedAt = new Date();
          state.lastError = error;
        }
      }),
    );
  }

  async #closeProviders(providers: LlmProvider[]): Promise<void> {
    await Promise.all(
      providers.map((provider) =>
        provider.close().catch((error: unknown) => this.#logger.warn({ provider: provider.name, err: String(error) }, 'closing a provider failed')),
      ),
    );
  }
}

function modelInfo(name: string, model: RoutedModel): ModelInfo {
  return {
    name,
    servedBy: model.config.name,
    kind: model.config.kind,
    contextWindow: model.config.contextWindow ?? null,
    price: model.config.price ?? null,
    available: model.entries.some((entry) => entry.state.breaker.available),
  };
}

function allUnavailable(requested: string, model: RoutedModel): DomainError {
  const retryInMs = Math.min(...model.entries.map((entry) => entry.state.breaker.retryInMs));
  return new DomainError('UPSTREAM_UNAVAILABLE', `no deployment of model "${requested}" is available right now`, {
    model: requested,
    retryAfterMs: Math.ceil(retryInMs),
  });
}

function withDetails(error: DomainError, extra: Record<string, unknown>): DomainError {
  return new DomainError(error.code, error.message, { ...error.details, ...extra });
}
