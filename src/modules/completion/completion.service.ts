import type { ChatMessage, EmbeddingResult, GenerationParams, TokenUsage, ToolCall, WireRequest } from '../../providers/provider.ts';
import { promptTokensBySize, tokensBySize, type PromptText } from '../../providers/token-estimator.ts';
import { requestNeeds, type Need } from '../../router/capabilities-needed.ts';
import type { ModelChoice, ModelInfo, RouteOptions, Routed, Router } from '../../router/router.ts';
import type { RequestFacts } from '../../router/route-rules.ts';
import type { TenantRoutingPrefs } from '../../router/tenant-routing.ts';
import { DomainError } from '../../shared/errors.ts';
import { randomId } from '../../shared/ids.ts';
import { withTopLevelString } from '../../shared/json-text.ts';
import type { Logger } from '../../shared/logger.ts';
import type { CompletionTiming } from '../../observability/metrics.ts';
import type { CompletionObserver } from '../../observability/telemetry.ts';
import type { TraceSpan, Tracing } from '../../observability/tracing.ts';
import type { Assignment } from '../experiment/index.ts';
import type { PriceBook } from '../pricing/index.ts';
import { newUsageEvent, type UsageEvent, type UsageKind } from '../usage/index.ts';
import type { CompletionCaller } from './completion-caller.ts';
import { recordForCache, replayCachedStream } from './cached-stream.ts';
import { CompletionStream, type StreamEnd, type StreamSource } from './completion-stream.ts';
import type { Admission, RequestGate, SettleOptions } from './request-gate.ts';
import { responseCacheKey, type ResponseCache } from './response-cache.ts';

/** Per request: true or false overrides the tenant's cache setting; undefined follows it. */
interface CacheChoice {
  cache?: boolean;
}

/** What the gateway reads of a request; `wire`, when set, is the whole request as an OpenAI client sent it. */
interface WireInput {
  wire?: WireRequest;
  /** A Responses API request passed through to upstreams that serve it (see servesResponses). */
  responses?: WireRequest;
}

export interface ChatInput extends GenerationParams, CacheChoice, WireInput {
  model: string;
  messages: ChatMessage[];
}

export interface TextCompletionInput extends GenerationParams, CacheChoice, WireInput {
  model: string;
  prompt: string | string[];
}

export interface EmbeddingInput {
  model: string;
  input: string | string[];
  /** Fields passed to the upstream as they are (dimensions, encoding_format, user...). */
  extra?: Record<string, unknown>;
}

export interface CompletionResult {
  id: string;
  created: number;
  /** The name the caller asked for. */
  model: string;
  content: string;
  finishReason: string | null;
  usage: TokenUsage;
  toolCalls?: ToolCall[] | undefined;
  reasoning?: string | undefined;
  /** The upstream's whole answer as it came (JSON text in OpenAI's shape), when it speaks it. */
  wire?: string | undefined;
  headers: Readonly<Record<string, string>>;
}

export interface EmbeddingOutcome {
  model: string;
  embeddings: number[][];
  usage: TokenUsage;
  headers: Readonly<Record<string, string>>;
}

export interface CompletionServiceOptions {
  router: Router;
  prices: PriceBook;
  meter: { record(event: UsageEvent): void };
  gate: RequestGate;
  /** The tenant's routing settings (preferred provider, overrides, allowed models, own credentials). */
  routingPrefs: (tenantId: string) => Promise<(TenantRoutingPrefs & { cacheEnabled?: boolean }) | undefined>;
  /** Exact-match answers for repeated temperature-0 requests. */
  cache: ResponseCache;
  /** The A/B experiments in force: which model (and variant) a request for a name goes to. */
  experiments?: { assign(tenantId: string, model: string, userId: string | null): Assignment | undefined };
  /** This instance's name on usage events. */
  node: string;
  logger: Logger;
  /** Reply budget assumed for limits when a request sets no max_tokens. */
  defaultMaxTokens?: number;
  /** Metrics and the request log, told once per request as it settles. */
  observer?: CompletionObserver;
  /** Set only when tracing is on: a span per request, parented to the HTTP request's span or the caller's traceparent. */
  tracing?: Tracing;
}

/** Where a request stands when it settles; filled in as it progresses. */
interface Meter {
  caller: CompletionCaller;
  kind: UsageKind;
  requestedModel: string;
  started: number;
  ts: Date;
  admission: Admission | undefined;
  /** The configured model chosen for the request, and the route decision behind it. */
  choice: ModelChoice | undefined;
  /** The experiment's variant the request was given. */
  assignment: Assignment | undefined;
  routed: Pick<Routed<unknown>, 'model' | 'deployment' | 'ttftMs'> | undefined;
  cacheHit: boolean;
  /** When the router was handed the request, and how long it took (streams: until the stream ends). */
  upstreamStartedAt: number;
  upstreamMs: number | undefined;
  streamed: boolean;
  span: TraceSpan | undefined;
}

type Generated = Pick<CompletionResult, 'content' | 'finishReason' | 'usage' | 'toolCalls' | 'reasoning' | 'wire'> & { id: string };

const zeroUsage: TokenUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: false };

/**
 * One completion service for every surface (/v1 and GraphQL alike): admission (limits), routing,
 * and exactly one usage event per request, settled whatever the end.
 */
export class CompletionService {
  readonly #options: CompletionServiceOptions;
  readonly #defaultMaxTokens: number;

  constructor(options: CompletionServiceOptions) {
    this.#options = options;
    this.#defaultMaxTokens = options.defaultMaxTokens ?? 512;
  }

  /** Whether the caller's Responses API requests for the model go through as they are (every deployment serves the API). */
  async servesResponses(caller: CompletionCaller, model: string): Promise<boolean> {
    return this.#options.router.servesResponses(model, await this.#options.routingPrefs(caller.tenantId));
  }

  async models(caller: CompletionCaller): Promise<ModelInfo[]> {
    return this.#options.router.models(await this.#options.routingPrefs(caller.tenantId));
  }

  chat(caller: CompletionCaller, input: ChatInput, signal?: AbortSignal): Promise<CompletionResult> {
    const { model, messages, cache, ...params } = input;
    const needs = requestNeeds({ messages, ...params });
    return this.#generate(caller, 'chat', model, messages, params, needs, cache, signal, (tenant, options) =>
      this.#options.router.chat(model, { messages, ...params }, { ...options, tenant }),
    );
  }

  complete(caller: CompletionCaller, input: TextCompletionInput, signal?: AbortSignal): Promise<CompletionResult> {
    const { model, prompt, cache, ...params } = input;
    return this.#generate(caller, 'completion', model, prompt, params, [], cache, signal, (tenant, options) =>
      this.#options.router.complete(model, { prompt, ...params }, { ...options, tenant }),
    );
  }

  streamChat(caller: CompletionCaller, input: ChatInput, signal?: AbortSignal): Promise<CompletionStream> {
    const { model, messages, cache, ...params } = input;
    const needs = requestNeeds({ messages, ...params });
    return this.#stream(caller, 'chat', model, messages, params, needs, cache, signal, (tenant, options) =>
      this.#options.router.stream(model, { messages, ...params }, { ...options, tenant }),
    );
  }

  streamCompletion(caller: CompletionCaller, input: TextCompletionInput, signal?: AbortSignal): Promise<CompletionStream> {
    const { model, prompt, cache, ...params } = input;
    return this.#stream(caller, 'completion', model, prompt, params, [], cache, signal, (tenant, options) =>
      this.#options.router.streamCompletion(model, { prompt, ...params }, { ...options, tenant }),
    );
  }

  async embeddings(caller: CompletionCaller, input: EmbeddingInput, signal?: AbortSignal): Promise<EmbeddingOutcome> {
    const meter = this.#startMeter(caller, 'embedding', input.model);
    let usage: TokenUsage | undefined;
    let failure: unknown;
    try {
      const tenant = await this.#options.routingPrefs(caller.tenantId);
      this.#options.router.check(input.model, 'embedding', tenant);
      const embed = (s: AbortSignal | undefined) => this.#options.router.embeddings(input.model, { input: input.input, extra: input.extra }, this.#routeOptions(meter, tenant, s));
      const { admission, early } = await this.#admit(meter, input.input, 0, signal, embed);
      meter.admission = admission;
      if (!early) meter.upstreamStartedAt = performance.now();
      const routed: Routed<EmbeddingResult> = await (early ?? embed(signal));
      meter.upstreamMs = routed.latencyMs;
      meter.routed = routed;
      usage = routed.result.usage;
      return { model: input.model, embeddings: routed.result.embeddings, usage, headers: meter.admission.headers };
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      this.#settleAfterReply(meter, usage, failure, signal);
    }
  }

  async #generate(
    caller: CompletionCaller,
    kind: UsageKind,
    model: string,
    prompt: PromptText,
    params: GenerationParams & WireInput,
    needs: readonly Need[],
    cacheChoice: boolean | undefined,
    signal: AbortSignal | undefined,
    call: (tenant: TenantRoutingPrefs | undefined, options: RouteOptions) => Promise<Routed<Generated>>,
  ): Promise<CompletionResult> {
    const meter = this.#startMeter(caller, kind, model);
    let usage: TokenUsage | undefined;
    let failure: unknown;
    try {
      const tenant = await this.#options.routingPrefs(caller.tenantId);
      meter.choice = this.#choose(meter, tenant, prompt, params, needs);
      // Keyed by the model chosen, as a route or an experiment may send one name to several.
      const cacheKey = cacheKeyFor(caller, tenant, kind, meter.choice.model, prompt, params, cacheChoice, false);
      // A cacheable request waits for its verdict: the answer may not need the upstream at all.
      const { admission, early } = await this.#admit(meter, prompt, this.#reserveBeyondPrompt(params), signal, cacheKey ? undefined : (s) => call(tenant, this.#routeOptions(meter, undefined, s)));
      meter.admission = admission;
      const cached = cacheKey ? await this.#options.cache.get(cacheKey) : undefined;
      if (cached) {
        meter.cacheHit = true;
        meter.routed = { model: cached.servedModel, deployment: { name: cached.deployment, provider: cached.provider, model: '' }, ttftMs: performance.now() - meter.started };
        usage = cached.usage;
        const id = completionId(kind);
        return {
          id,
          created: Math.floor(Date.now() / 1000),
          model,
          content: cached.content,
          finishReason: cached.finishReason,
          usage,
          toolCalls: cached.toolCalls,
          reasoning: cached.reasoning,
          // A replayed answer is a new completion: it gets an id of its own.
          wire: cached.wire && withTopLevelString(cached.wire, 'id', JSON.stringify(id)),
          headers: { ...replyHeaders(meter), [CACHE_HEADER]: 'hit' },
        };
      }
      if (!early) meter.upstreamStartedAt = performance.now();
      const routed = await (early ?? call(tenant, this.#routeOptions(meter, undefined, signal)));
      meter.upstreamMs = routed.latencyMs;
      meter.routed = routed;
      usage = routed.result.usage;
      if (cacheKey) {
        void this.#options.cache.set(cacheKey, {
          content: routed.result.content,
          finishReason: routed.result.finishReason,
          usage,
          toolCalls: routed.result.toolCalls,
          reasoning: routed.result.reasoning,
          wire: routed.result.wire,
          servedModel: routed.model,
          provider: routed.deployment.provider,
          deployment: routed.deployment.name,
        });
      }
      return {
        id: completionId(kind),
        created: Math.floor(Date.now() / 1000),
        model,
        content: routed.result.content,
        finishReason: routed.result.finishReason,
        usage,
        toolCalls: routed.result.toolCalls,
        reasoning: routed.result.reasoning,
        wire: routed.result.wire,
        headers: cacheKey ? { ...replyHeaders(meter), [CACHE_HEADER]: 'miss' } : replyHeaders(meter),
      };
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      this.#settleAfterReply(meter, usage, failure, signal);
    }
  }

  async #stream(
    caller: CompletionCaller,
    kind: UsageKind,
    model: string,
    prompt: PromptText,
    params: GenerationParams & WireInput,
    needs: readonly Need[],
    cacheChoice: boolean | undefined,
    signal: AbortSignal | undefined,
    open: (tenant: TenantRoutingPrefs | undefined, options: RouteOptions) => ReturnType<Router['stream']>,
  ): Promise<CompletionStream> {
    const meter = this.#startMeter(caller, kind, model);
    try {
      const tenant = await this.#options.routingPrefs(caller.tenantId);
      meter.choice = this.#choose(meter, tenant, prompt, params, needs);
      meter.streamed = true;
      const cacheKey = cacheKeyFor(caller, tenant, kind, meter.choice.model, prompt, params, cacheChoice, true);
      const { admission, early } = await this.#admit(meter, prompt, this.#reserveBeyondPrompt(params), signal, cacheKey ? undefined : (s) => open(tenant, this.#routeOptions(meter, undefined, s)));
      meter.admission = admission;
      const cached = cacheKey ? await this.#options.cache.get(cacheKey) : undefined;
      let source: StreamSource;
      if (cached) {
        meter.cacheHit = true;
        meter.upstreamStartedAt = performance.now();
        meter.routed = { model: cached.servedModel, deployment: { name: cached.deployment, provider: cached.provider, model: '' }, ttftMs: performance.now() - meter.started };
        source = replayCachedStream(cached);
      } else {
        if (!early) meter.upstreamStartedAt = performance.now();
        const routed = await (early ?? open(tenant, this.#routeOptions(meter, undefined, signal)));
        meter.routed = routed;
        source = cacheKey ? recordForCache(routed, (entry) => void this.#options.cache.set(cacheKey, entry)) : routed;
      }
      const surface = caller.surface ?? 'graphql';
      this.#options.observer?.streamOpened(surface);
      return new CompletionStream({
        id: completionId(kind),
        model,
        headers: cacheKey ? { ...replyHeaders(meter), [CACHE_HEADER]: cached ? 'hit' : 'miss' } : replyHeaders(meter),
        routed: source,
        onEnd: async (end: StreamEnd, usage: TokenUsage) => {
          this.#options.observer?.streamClosed(surface);
          meter.upstreamMs = performance.now() - meter.upstreamStartedAt;
          // Awaited: the surfaces send [DONE] (or the last chunk) after this, when the quota already counts the stream.
          await this.#settle(meter, usage, end.status === 'error' ? end.error : end.status === 'cancelled' ? cancelled : undefined, signal, { awaited: true });
        },
      });
    } catch (error) {
      // Nothing was streamed: the request failed before its first token and settles here.
      void this.#settle(meter, undefined, error, signal);
      throw error;
    }
  }

  /** The model for the request: its route's rules see what it needs, its size and the tenant's plan. */
  #choose(meter: Meter, tenant: TenantRoutingPrefs | undefined, prompt: PromptText, params: GenerationParams & WireInput, needs: readonly Need[]): ModelChoice {
    const { requestedModel: model, caller } = meter;
    meter.assignment = this.#options.experiments?.assign(caller.tenantId, model, caller.userId);
    const facts = (): RequestFacts => ({
      needs,
      promptTokens: promptTokensBySize(prompt),
      maxTokens: params.maxTokens ?? this.#defaultMaxTokens,
      planId: tenant?.planId,
    });
    const choice = this.#options.router.select(model, 'chat', tenant, facts, meter.assignment?.model);
    // A route's rules already chose a capable model; a model named outright is refused here, before admission.
    if (!choice.route && needs.length > 0) this.#options.router.check(choice.model, 'chat', undefined, needs);
    return choice;
  }

  /** Tokens a request reserves besides its messages: the reply budget of each choice, and tool schemas by size. */
  #reserveBeyondPrompt(params: GenerationParams & WireInput): number {
    const choices = typeof params.wire?.n === 'number' ? params.wire.n : 1;
    const tools = params.wire?.tools ?? params.responses?.tools ?? params.extra?.tools;
    return (params.maxTokens ?? this.#defaultMaxTokens) * choices + (tools === undefined ? 0 : tokensBySize(JSON.stringify(tools)));
  }

  #startMeter(caller: CompletionCaller, kind: UsageKind, requestedModel: string): Meter {
    const tracing = this.#options.tracing;
    const span = tracing?.startSpan(`${kind} ${requestedModel}`, {
      parent: tracing.current() ?? caller.traceparent,
      kind: 'server',
      attributes: { 'tollgate.request_id': caller.requestId, 'tollgate.tenant_id': caller.tenantId, 'gen_ai.request.model': requestedModel, 'gen_ai.operation.name': kind },
    });
    return {
      caller,
      kind,
      requestedModel,
      started: performance.now(),
      ts: new Date(),
      admission: undefined,
      choice: undefined,
      assignment: undefined,
      routed: undefined,
      cacheHit: false,
      upstreamStartedAt: 0,
      upstreamMs: undefined,
      streamed: false,
      span,
    };
  }

  #routeOptions(meter: Meter, tenant: TenantRoutingPrefs | undefined, signal: AbortSignal | undefined): RouteOptions {
    return { signal, tenant, requestId: meter.caller.requestId, trace: meter.span, traceparent: meter.caller.traceparent, choice: meter.choice };
  }

  /**
   * The admission, or the refusal thrown. When the gate lets the request start early, the
   * upstream call runs alongside the verdict and is returned; a refusal aborts it first, before
   * anything reached the client (streams are held until their first token anyway). When the gate
   * answered before its verdict, the call is returned at once and a refusal aborts it only if it
   * comes before the upstream answered.
   */
  async #admit<T>(
    meter: Meter,
    prompt: PromptText,
    replyBudget: number,
    signal: AbortSignal | undefined,
    start: ((signal: AbortSignal) => Promise<T>) | undefined,
  ): Promise<{ admission: Admission; early: Promise<T> | undefined }> {
    let early: Promise<T> | undefined;
    let abortEarly: AbortController | undefined;
    const startEarly = start && (() => {
      abortEarly = followAbort(signal);
      meter.upstreamStartedAt = performance.now();
      early = start(abortEarly.signal);
      // Awaited once the verdict is in; until then (and after a refusal) its failure is not unhandled.
      early.catch(() => {});
    });
    try {
      const admission = await this.#options.gate.admit(meter.caller, {
        model: meter.requestedModel,
        estimateTokens: async () => promptTokensBySize(prompt) + replyBudget,
        startEarly,
      });
      if (admission.verdict && early) early = unlessRefusedFirst(early, admission.verdict, abortEarly!);
      return { admission, early };
    } catch (error) {
      abortEarly?.abort(error);
      throw error;
    }
  }

  /**
   * #settle once the caller has written its reply: a one-shot answer is returned before its event is
   * built and recorded, its settlement queued and its log line written. It still
   * runs within this turn of the event loop (before the client's next request is read), and the
   * latency recorded is the request's own.
   */
  #settleAfterReply(meter: Meter, usage: TokenUsage | undefined, failure: unknown, signal: AbortSignal | undefined): void {
    const elapsedMs = performance.now() - meter.started;
    setImmediate(() => void this.#settle(meter, usage, failure, signal, undefined, elapsedMs));
  }

  /** Exactly once per request: releases the admission and records the usage event; resolves once the admission's store has the release. */
  #settle(
    meter: Meter,
    usage: TokenUsage | undefined,
    failure: unknown,
    signal: AbortSignal | undefined,
    options?: SettleOptions,
    elapsedMs = performance.now() - meter.started,
  ): Promise<void> {
    const counted = usage ?? failureUsage(failure) ?? zeroUsage;
    const released = meter.admission?.settle(counted, options) ?? Promise.resolve();
    const status = failure === undefined ? 'ok' : signal?.aborted || failure === cancelled ? 'cancelled' : isRefusal(failure) ? 'refused' : 'error';
    const servedModel = meter.routed?.model ?? null;
    const cost = servedModel ? this.#options.prices.cost(servedModel, counted.promptTokens, counted.completionTokens) : undefined;
    let event: UsageEvent;
    try {
      event = newUsageEvent({
        requestId: meter.caller.requestId,
        ts: meter.ts,
        tenantId: meter.caller.tenantId,
        userId: meter.caller.userId,
        apiKeyId: meter.caller.apiKeyId,
        requestedModel: meter.requestedModel,
        servedModel,
        provider: meter.routed?.deployment.provider ?? null,
        deployment: meter.routed?.deployment.name ?? null,
        kind: meter.kind,
        promptTokens: counted.promptTokens,
        completionTokens: counted.completionTokens,
        totalTokens: counted.totalTokens,
        tokensEstimated: counted.estimated,
        cachedTokens: counted.cachedTokens ?? 0,
        reasoningTokens: counted.reasoningTokens ?? 0,
        ttftMs: meter.routed ? Math.round(meter.routed.ttftMs) : null,
        latencyMs: Math.round(elapsedMs),
        status,
        cacheHit: meter.cacheHit,
        errorCode: failure === undefined || failure === cancelled ? null : failure instanceof DomainError ? failure.code : 'INTERNAL_SERVER_ERROR',
        costMicros: cost?.micros ?? 0,
        currency: cost?.currency ?? 'USD',
        node: this.#options.node,
        route: meter.choice?.route?.route ?? null,
        routeRule: meter.choice?.route?.rule ?? null,
        experimentId: meter.assignment?.experimentId ?? null,
        variant: meter.assignment?.variant ?? null,
        templateName: meter.caller.template?.name ?? null,
        templateVersion: meter.caller.template?.version ?? null,
      });
      // A client's retry with the same X-Request-ID: the quota counted the request once, and so does the usage store.
      if (meter.admission?.repeated !== true) this.#options.meter.record(event);
    } catch (error) {
      this.#options.logger.error({ err: error, requestId: meter.caller.requestId }, 'could not record a usage event');
      meter.span?.end();
      return released;
    }
    const timing: CompletionTiming | undefined =
      meter.upstreamMs === undefined
        ? undefined
        : { upstreamMs: meter.upstreamMs, overheadMs: meter.streamed ? meter.upstreamStartedAt - meter.started : elapsedMs - meter.upstreamMs };
    try {
      this.#options.observer?.settled(event, { surface: meter.caller.surface ?? 'graphql', timing, streamed: meter.streamed });
    } catch (error) {
      this.#options.logger.error({ err: error, requestId: meter.caller.requestId }, 'request telemetry failed');
    }
    if (meter.span) endRequestSpan(meter.span, event, failure);
    return released;
  }
}

/** Rate-limit state, plus the experiment's variant and the route decision when they chose the model. */
function replyHeaders(meter: Meter): Readonly<Record<string, string>> {
  const headers = meter.admission?.headers ?? {};
  const route = meter.choice?.route;
  const variant = meter.assignment?.variant;
  if (!route && variant === undefined) return headers;
  const extra: Record<string, string> = { ...headers };
  if (route) extra['x-tollgate-route'] = `${route.route}; rule=${route.rule}; model=${route.model}`;
  if (variant !== undefined) extra['x-tollgate-variant'] = variant;
  return extra;
}

function endRequestSpan(span: TraceSpan, event: UsageEvent, failure: unknown): void {
  span.setAttributes({
    'gen_ai.response.model': event.servedModel ?? undefined,
    'gen_ai.provider.name': event.provider ?? undefined,
    'tollgate.deployment': event.deployment ?? undefined,
    'gen_ai.usage.input_tokens': event.promptTokens,
    'gen_ai.usage.output_tokens': event.completionTokens,
    'tollgate.tokens_estimated': event.tokensEstimated,
    'tollgate.status': event.status,
    'tollgate.cache_hit': event.cacheHit,
  });
  if (event.status === 'error' || event.status === 'refused') span.fail(failure);
  span.end();
}

/** A controller that also aborts when `signal` (the client's) does. */
function followAbort(signal: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller;
}

/** Marks a stream the consumer left before it ended. */
const cancelled = Symbol('cancelled');

const isRefusal = (error: unknown) => error instanceof DomainError && (error.code === 'RATE_LIMITED' || error.code === 'QUOTA_EXCEEDED' || error.code === 'BUDGET_EXCEEDED');

/** A stream that broke mid-way carries the usage of what it streamed. */
function failureUsage(error: unknown): TokenUsage | undefined {
  if (!(error instanceof DomainError)) return undefined;
  const usage = error.details.usage as TokenUsage | undefined;
  return usage && typeof usage.totalTokens === 'number' ? usage : undefined;
}

/** Tells the caller whether a cacheable request was answered from the cache (`hit`) or by the upstream (`miss`). */
const CACHE_HEADER = 'x-tollgate-cache';

/**
 * The cache key of a request that may be cached, else undefined. Only deterministic requests are
 * cached: temperature 0, asked for by the request or the tenant. Whether the answer is streamed does
 * not shape it, so a stream and a one-shot request share an entry. A stream of several choices or
 * with log probabilities is not cached: a replayed stream carries one choice's text, not those.
 */
function cacheKeyFor(
  caller: CompletionCaller,
  tenant: { cacheEnabled?: boolean } | undefined,
  kind: UsageKind,
  model: string,
  prompt: PromptText,
  params: GenerationParams & WireInput,
  choice: boolean | undefined,
  streamed: boolean,
): string | undefined {
  if (params.temperature !== 0 || !(choice ?? tenant?.cacheEnabled ?? false)) return undefined;
  if (streamed && ((typeof params.wire?.n === 'number' && params.wire.n > 1) || params.wire?.logprobs)) return undefined;
  const { wire, ...rest } = params;
  if (!wire) return responseCacheKey(caller.tenantId, kind, model, prompt, rest);
  const { stream: _stream, stream_options: _options, ...shaping } = wire;
  return responseCacheKey(caller.tenantId, kind, model, prompt, { ...rest, wire: shaping });
}

const completionId = (kind: UsageKind) => `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomId(24)}`;

/** The call's outcome, unless the verdict refuses before the call has answered: the call is then aborted and the refusal thrown. */
function unlessRefusedFirst<T>(call: Promise<T>, verdict: Promise<void>, abort: AbortController): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let answered = false;
    call.then(
      (value) => {
        answered = true;
        resolve(value);
      },
      (error: unknown) => {
        answered = true;
        reject(error);
      },
    );
    verdict.catch((refusal: unknown) => {
      if (answered) return;
      abort.abort(refusal);
      reject(refusal);
    });
  });
}
