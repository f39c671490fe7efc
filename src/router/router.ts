import type { InferenceConfigFile } from '../config.ts';
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
import { notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Tracing } from '../observability/tracing.ts';
import { RequestScope, type Attempt } from './attempt.ts';
import { AttemptLoop, type Success, type UpstreamErrorObserver } from './attempt-loop.ts';
import { refuseUnmet } from './capable-deployments.ts';
import type { DeploymentHealth, DeploymentRef } from './deployment-state.ts';
import type { BackoffSettings } from './failure-policy.ts';
import { finishAttempt } from './finish-attempt.ts';
import { requestNeeds, type Need } from './capabilities-needed.ts';
import { HealthProbes } from './health-probes.ts';
import { modelInfo, type ModelInfo } from './model-info.ts';
import { targetModel, tenantModel, type ModelKind } from './model-lookup.ts';
import { planRequest } from './request-plan.ts';
import type { ModelChoice, RouteOptions } from './route-options.ts';
import { RoutedStream } from './routed-stream.ts';
import type { RequestFacts } from './route-rules.ts';
import { buildRoutingTable, type DeploymentEntry, type RoutingTable } from './routing-table.ts';
import { resolveModelName, tenantCredential, type TenantRoutingPrefs } from './tenant-routing.ts';

export type { ModelChoice, ModelInfo, RouteOptions };

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
  observer?: UpstreamErrorObserver;
  /** Set only when tracing is on: a span per attempt, child of the request's span. */
  tracing?: Tracing;
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

interface OpenedStream {
  iterator: AsyncIterator<StreamChunk>;
  first: StreamChunk;
}

const defaultBackoff: BackoffSettings = { baseMs: 100, maxMs: 2_000 };

function withNeeds(options: RouteOptions, request: RoutedChatRequest): RouteOptions {
  const needs = requestNeeds(request);
  return needs.length === 0 ? options : { ...options, needs };
}

function callOptions(entry: DeploymentEntry, attempt: Attempt, options: RouteOptions): CallOptions {
  return {
    signal: attempt.signal,
    apiKey: tenantCredential(options.tenant, entry.state.ref.provider),
    requestId: options.requestId,
    traceparent: attempt.span?.traceparent ?? options.traceparent,
  };
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
  readonly #observer: RouterOptions['observer'];
  readonly #attempts: AttemptLoop;
  readonly #probes: HealthProbes;

  constructor(options: RouterOptions) {
    this.#logger = options.logger;
    this.#env = options.env ?? process.env;
    this.#random = options.random ?? Math.random;
    this.#now = options.now;
    this.#observer = options.observer;
    this.#attempts = new AttemptLoop({
      logger: this.#logger,
      random: this.#random,
      backoff: { ...defaultBackoff, ...options.backoff },
      maxRetryWaitMs: options.maxRetryWaitMs ?? 5_000,
      observer: this.#observer,
      tracing: options.tracing,
    });
    this.#probes = new HealthProbes(() => this.#table, this.#logger);
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
    this.#probes.start(intervalMs, timeoutMs);
  }

  stopHealthProbes(): void {
    this.#probes.stop();
  }

  /** One probe round (a round still running is joined, not doubled). */
  probeHealth(timeoutMs = 5_000): Promise<void> {
    return this.#probes.probe(timeoutMs);
  }

  async close(): Promise<void> {
    await this.#probes.close();
    await this.#closeProviders([...this.#table.providers.values()].map((slot) => slot.provider));
  }

  /**
   * Refuses a request for a model the tenant cannot use, of the wrong kind, or needing a capability
   * none of its deployments has, before anything else (limits included) is spent on it: NOT_FOUND or
   * BAD_USER_INPUT.
   */
  check(requested: string, kind: ModelKind, tenant?: TenantRoutingPrefs, needs: readonly Need[] = []): void {
    const model = tenantModel(this.#table, requested, kind, tenant);
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
    return targetModel(table, name ?? resolved, requested, kind, facts);
  }

  async #call<T>(
    requested: string,
    kind: ModelKind,
    options: RouteOptions,
    invoke: (entry: DeploymentEntry, call: CallOptions) => Promise<T>,
  ): Promise<Routed<T>> {
    const plan = planRequest(this.#table, requested, kind, options, this.#random);
    const { timeoutsMs } = plan.table.routing;
    const scope = new RequestScope(options.signal, timeoutsMs.total);
    plan.table.enter();
    try {
      const { value, attempt, attempts, entry } = await this.#attempts.run(plan, scope, options, (entry, attempt) => {
        if (kind === 'embedding') attempt.waitStarted('first-token', timeoutsMs.firstToken);
        else if (timeoutsMs.response !== undefined) attempt.waitStarted('response', timeoutsMs.response);
        return invoke(entry, callOptions(entry, attempt, options));
      });
      attempt.state.recordLatency(performance.now() - attempt.startedAt);
      finishAttempt(attempt, 'success', this.#logger);
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
    const plan = planRequest(this.#table, requested, 'chat', options, this.#random);
    const { timeoutsMs } = plan.table.routing;
    const scope = new RequestScope(options.signal, timeoutsMs.total);
    plan.table.enter();
    let opened: Success<OpenedStream>;
    try {
      opened = await this.#attempts.run(plan, scope, options, async (entry, attempt): Promise<OpenedStream> => {
        const iterator = open(entry, callOptions(entry, attempt, options))[Symbol.asyncIterator]();
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
        finishAttempt(attempt, outcome, this.#logger);
        scope.dispose();
        plan.table.leave();
      },
    });
  }

  async #closeProviders(providers: LlmProvider[]): Promise<void> {
    await Promise.all(
      providers.map((provider) =>
        provider.close().catch((error: unknown) => this.#logger.warn({ provider: provider.name, err: String(error) }, 'closing a provider failed')),
      ),
    );
  }
}
