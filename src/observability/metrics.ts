import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { HotCounter, HotGauge, HotHistogram, type ValueSeries } from './hot-metrics.ts';
import type { UsageEvent } from '../modules/usage/index.ts';
import type { UsageMeterStats } from '../modules/usage/index.ts';
import type { DeploymentHealth } from '../router/deployment-state.ts';

/** Where a request came in: the /v1 shim, GraphQL (HTTP, SSE or WebSocket), or the operational routes. */
export type Surface = 'v1' | 'graphql' | 'ops' | 'other';

/** What scrape-time gauges read; each is bound once the part it reads exists. */
export interface MetricSources {
  deployments: () => DeploymentHealth[];
  usage: () => UsageMeterStats | undefined;
  webSockets: () => number;
  /** Whether a requested model name is configured: unknown names share one label, so callers cannot add series. */
  modelKnown: (name: string) => boolean;
}

/** How a completion's time divides between the upstream and the gateway. */
export interface CompletionTiming {
  /** Waiting on upstreams, retries included (streams: from the call to the last chunk). */
  upstreamMs: number;
  /** The gateway's own part (streams: before the upstream call, since the rest of a stream is the upstream's pace). */
  overheadMs: number;
}

const breakerStates = ['closed', 'half-open', 'open'] as const;

/** The gateway's Prometheus metrics, one registry per app (so tests can run several side by side). */
/**
 * The gateway's Prometheus metrics, one registry per app (so tests can run several side by side).
 * Every label takes values from a bounded set (configured names, fixed enums), except the tenant,
 * which is a label only when the operator turns it on.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #tenantLabel: boolean;
  readonly #sources: MetricSources = { deployments: () => [], usage: () => undefined, webSockets: () => 0, modelKnown: () => false };
  readonly #http: HotCounter;
  readonly #completions: HotCounter;
  readonly #overhead: HotHistogram;
  readonly #upstream: HotHistogram;
  readonly #ttft: HotHistogram;
  readonly #tokens: HotCounter;
  readonly #refusals: HotCounter;
  readonly #upstreamErrors: HotCounter;
  readonly #streams: HotGauge;

  constructor(options: { tenantLabel: boolean; defaultMetrics?: boolean }) {
    this.#tenantLabel = options.tenantLabel;
    const registry = this.registry;
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

    this.#http = new HotCounter({ name: 'tollgate_http_requests_total', help: 'HTTP requests by surface, route and status code.', labelNames: ['surface', 'route', 'status'], registry });
    this.#completions = new HotCounter({
      name: 'tollgate_completion_requests_total',
      help: 'Completion, chat and embedding requests by surface, kind, model (served, else requested if configured, else "unknown") and outcome (ok, error, refused, cancelled).',
      labelNames: ['surface', 'kind', 'model', 'status'],
      registry,
    });
    this.#overhead = new HotHistogram({
      name: 'tollgate_gateway_overhead_seconds',
      help: "Time a completion spent in the gateway itself: its latency less the upstream's time (for streams, up to the first token).",
      labelNames: ['surface', 'kind'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registry,
    });
    this.#upstream = new HotHistogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time spent waiting on upstreams per request, retries included (for streams, until the last chunk).',
      labelNames: ['provider', 'deployment'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registry,
    });
    this.#ttft = new HotHistogram({
      name: 'tollgate_time_to_first_token_seconds',
      help: 'From the start of a completion to its first token (the whole answer for non-streaming calls).',
      labelNames: ['model', 'stream'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registry,
    });
    this.#tokens = new HotCounter({
      name: 'tollgate_tokens_total',
      help: 'Tokens by served model, provider and type (prompt, completion).',
      labelNames: options.tenantLabel ? ['model', 'provider', 'type', 'tenant'] : ['model', 'provider', 'type'],
      registry,
    });
    this.#refusals = new HotCounter({
      name: 'tollgate_refusals_total',
      help: 'Requests refused by a rate limit, a quota or a budget, by surface and reason (rate_limited, quota_exceeded, budget_exceeded).',
      labelNames: ['surface', 'reason'],
      registry,
    });
    this.#upstreamErrors = new HotCounter({
      name: 'tollgate_upstream_errors_total',
      help: 'Failed upstream calls by deployment and kind (connect, timeout, rate_limited, server, client, protocol).',
      labelNames: ['deployment', 'kind'],
      registry,
    });
    this.#streams = new HotGauge({ name: 'tollgate_active_streams', help: 'Completion streams open now, by surface.', labelNames: ['surface'], registry });
    this.#registerScrapeTime(this.#sources, [registry]);
  }

  bind(sources: Partial<MetricSources>): void {
    Object.assign(this.#sources, sources);
  }

  httpRequest(surface: Surface, route: string, status: number): void {
    this.#http.series.get3(surface, route, status).value += 1;
  }

  /** Everything a settled completion tells: outcome, tokens, timings, refusals. */
  completion(event: UsageEvent, surface: Surface, timing: CompletionTiming | undefined, streamed: boolean): void {
    const model = event.servedModel ?? (this.#sources.modelKnown(event.requestedModel) ? event.requestedModel : 'unknown');
    this.#completions.series.get4(surface, event.kind, model, event.status).value += 1;
    if (event.status === 'refused') this.#refusals.series.get2(surface, refusalReason(event.errorCode)).value += 1;
    const provider = event.provider ?? 'none';
    if (event.promptTokens > 0) this.#tokenSeries(model, provider, 'prompt', event.tenantId).value += event.promptTokens;
    if (event.completionTokens > 0) this.#tokenSeries(model, provider, 'completion', event.tenantId).value += event.completionTokens;
    if (timing !== undefined && event.deployment !== null) {
      this.#upstream.observe(this.#upstream.series.get2(provider, event.deployment), timing.upstreamMs / 1000);
      this.#overhead.observe(this.#overhead.series.get2(surface, event.kind), Math.max(0, timing.overheadMs) / 1000);
    }
    if (event.ttftMs !== null && event.status === 'ok') this.#ttft.observe(this.#ttft.series.get2(model, streamed ? 'true' : 'false'), event.ttftMs / 1000);
  }

  upstreamError(deployment: string, kind: string): void {
    this.#upstreamErrors.series.get2(deployment, kind).value += 1;
  }

  streamOpened(surface: Surface): void {
    this.#streams.series.get1(surface).value += 1;
  }

  streamClosed(surface: Surface): void {
    this.#streams.series.get1(surface).value -= 1;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #tokenSeries(model: string, provider: string, type: string, tenant: string): ValueSeries {
    return this.#tenantLabel ? this.#tokens.series.get4(model, provider, type, tenant) : this.#tokens.series.get3(model, provider, type);
  }

  /** Gauges read at scrape time from the router, the usage meter and the WebSocket server. */
  #registerScrapeTime(sources: MetricSources, registers: Registry[]): void {
    new Gauge({
      name: 'tollgate_deployment_breaker_state',
      help: 'Circuit breaker state per deployment: 1 for the current state, 0 for the others.',
      labelNames: ['deployment', 'provider', 'state'],
      registers,
      collect() {
        this.reset();
        for (const d of sources.deployments()) {
          for (const state of breakerStates) this.labels(d.name, d.provider, state).set(d.breaker === state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'tollgate_deployment_inflight',
      help: 'Requests in flight per deployment.',
      labelNames: ['deployment', 'provider'],
      registers,
      collect() {
        this.reset();
        for (const d of sources.deployments()) this.labels(d.name, d.provider).set(d.inflight);
      },
    });
    new Gauge({
      name: 'tollgate_deployment_healthy',
      help: 'Result of the last health probe per deployment (1 healthy, 0 failing; absent before the first probe).',
      labelNames: ['deployment', 'provider'],
      registers,
      collect() {
        this.reset();
        for (const d of sources.deployments()) if (d.healthy !== null) this.labels(d.name, d.provider).set(d.healthy ? 1 : 0);
      },
    });

    const usageGauge = (name: string, help: string, read: (s: UsageMeterStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const stats = sources.usage();
          if (stats) this.set(read(stats));
        },
      });
    usageGauge('tollgate_usage_queue_events', 'Usage events held in memory and not yet in the store.', (s) => s.queued);
    usageGauge('tollgate_usage_spool_events', 'Usage events in spool files the store does not hold yet.', (s) => s.spooled);
    usageGauge('tollgate_usage_spool_segments', 'Spool files waiting for the usage store.', (s) => s.segments);
    usageGauge('tollgate_usage_store_failures', 'Usage store inserts that failed since the last success.', (s) => s.consecutiveFailures);
    usageGauge('tollgate_usage_store_lag_seconds', 'Seconds since the usage store last took a batch, while events wait for it (0 when none wait).', (s) =>
      s.queued + s.spooled === 0 || s.lastFlushAt === null ? 0 : (Date.now() - s.lastFlushAt.getTime()) / 1000,
    );
    const usageCounter = (name: string, help: string, read: (s: UsageMeterStats) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const stats = sources.usage();
          this.reset();
          if (stats) this.inc(read(stats));
        },
      });
    usageCounter('tollgate_usage_events_recorded_total', 'Usage events recorded.', (s) => s.recorded);
    usageCounter('tollgate_usage_events_stored_total', 'Usage events the store took.', (s) => s.stored);
    usageCounter('tollgate_usage_events_dropped_total', 'Usage events lost because neither the spool nor memory could take them.', (s) => s.dropped);
    usageCounter('tollgate_usage_events_dead_lettered_total', 'Usage events the store refused, kept as dead letters (tollgate usage dead-letters).', (s) => s.deadLettered);
    new Gauge({
      name: 'tollgate_websocket_connections',
      help: 'Open GraphQL WebSocket connections.',
      registers,
      collect() {
        this.set(sources.webSockets());
      },
    });
  }
}

const refusalReason = (errorCode: string | null) => (errorCode === 'QUOTA_EXCEEDED' ? 'quota_exceeded' : errorCode === 'BUDGET_EXCEEDED' ? 'budget_exceeded' : 'rate_limited');
