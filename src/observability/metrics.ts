import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UsageEvent } from '../modules/usage/usage-event.ts';
import type { UsageMeterStats } from '../modules/usage/usage-meter.ts';
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

type Key = string | number;

/** How a completion's time divides between the upstream and the gateway. */
export interface CompletionTiming {
  /** Waiting on upstreams, retries included (streams: from the call to the last chunk). */
  upstreamMs: number;
  /** The gateway's own part (streams: before the upstream call, since the rest of a stream is the upstream's pace). */
  overheadMs: number;
}

/**
 * Label children cached in nested maps, so the hot path looks a child up without building a label
 * object or a joined key. Every label here takes values from a bounded set (configured names, fixed
 * enums), except the tenant, which is a label only when the operator turns it on.
 */
class Children<C> {
  readonly #root = new Map<Key, unknown>();
  readonly #make: (values: string[]) => C;

  constructor(make: (values: string[]) => C) {
    this.#make = make;
  }

  get1(a: Key): C {
    let child = this.#root.get(a) as C | undefined;
    if (child === undefined) {
      child = this.#make([String(a)]);
      this.#root.set(a, child);
    }
    return child;
  }

  get2(a: Key, b: Key): C {
    const last = this.#level(this.#root, a);
    return (last.get(b) as C | undefined) ?? this.#put(last, b, [a, b]);
  }

  get3(a: Key, b: Key, c: Key): C {
    const last = this.#level(this.#level(this.#root, a), b);
    return (last.get(c) as C | undefined) ?? this.#put(last, c, [a, b, c]);
  }

  get4(a: Key, b: Key, c: Key, d: Key): C {
    const last = this.#level(this.#level(this.#level(this.#root, a), b), c);
    return (last.get(d) as C | undefined) ?? this.#put(last, d, [a, b, c, d]);
  }

  #level(map: Map<Key, unknown>, key: Key): Map<Key, unknown> {
    let next = map.get(key) as Map<Key, unknown> | undefined;
    if (next === undefined) {
      next = new Map();
      map.set(key, next);
    }
    return next;
  }

  #put(map: Map<Key, unknown>, key: Key, values: Key[]): C {
    const child = this.#make(values.map(String));
    map.set(key, child);
    return child;
  }
}

type CounterChild = { inc(value?: number): void };
type HistogramChild = { observe(value: number): void };
type GaugeChild = { inc(value?: number): void; dec(value?: number): void };

const breakerStates = ['closed', 'half-open', 'open'] as const;

/** The gateway's Prometheus metrics, one registry per app (so tests can run several side by side). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #tenantLabel: boolean;
  readonly #http: Children<CounterChild>;
  readonly #completions: Children<CounterChild>;
  readonly #overhead: Children<HistogramChild>;
  readonly #upstream: Children<HistogramChild>;
  readonly #ttft: Children<HistogramChild>;
  readonly #tokens: Children<CounterChild>;
  readonly #refusals: Children<CounterChild>;
  readonly #upstreamErrors: Children<CounterChild>;
  readonly #streams: Children<GaugeChild>;

  readonly #sources: MetricSources = { deployments: () => [], usage: () => undefined, webSockets: () => 0, modelKnown: () => false };

  constructor(options: { tenantLabel: boolean; defaultMetrics?: boolean }) {
    this.#tenantLabel = options.tenantLabel;
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    const http = new Counter({ name: 'tollgate_http_requests_total', help: 'HTTP requests by surface, route and status code.', labelNames: ['surface', 'route', 'status'], registers });
    this.#http = new Children((v) => http.labels(...v));

    const completions = new Counter({
      name: 'tollgate_completion_requests_total',
      help: 'Completion, chat and embedding requests by surface, kind, model (served, else requested if configured, else "unknown") and outcome (ok, error, refused, cancelled).',
      labelNames: ['surface', 'kind', 'model', 'status'],
      registers,
    });
    this.#completions = new Children((v) => completions.labels(...v));

    const overhead = new Histogram({
      name: 'tollgate_gateway_overhead_seconds',
      help: "Time a completion spent in the gateway itself: its latency less the upstream's time (for streams, up to the first token).",
      labelNames: ['surface', 'kind'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.#overhead = new Children((v) => overhead.labels(...v));

    const upstream = new Histogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time spent waiting on upstreams per request, retries included (for streams, until the last chunk).',
      labelNames: ['provider', 'deployment'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.#upstream = new Children((v) => upstream.labels(...v));

    const ttft = new Histogram({
      name: 'tollgate_time_to_first_token_seconds',
      help: 'From the start of a completion to its first token (the whole answer for non-streaming calls).',
      labelNames: ['model', 'stream'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.#ttft = new Children((v) => ttft.labels(...v));

    const tokenLabels = options.tenantLabel ? ['model', 'provider', 'type', 'tenant'] : ['model', 'provider', 'type'];
    const tokens = new Counter({ name: 'tollgate_tokens_total', help: 'Tokens by served model, provider and type (prompt, completion).', labelNames: tokenLabels, registers });
    this.#tokens = new Children((v) => tokens.labels(...v));

    const refusals = new Counter({
      name: 'tollgate_refusals_total',
      help: 'Requests refused by a rate limit or a quota, by surface and reason (rate_limited, quota_exceeded).',
      labelNames: ['surface', 'reason'],
      registers,
    });
    this.#refusals = new Children((v) => refusals.labels(...v));

    const upstreamErrors = new Counter({
      name: 'tollgate_upstream_errors_total',
      help: 'Failed upstream calls by deployment and kind (connect, timeout, rate_limited, server, client, protocol).',
      labelNames: ['deployment', 'kind'],
      registers,
    });
    this.#upstreamErrors = new Children((v) => upstreamErrors.labels(...v));

    const streams = new Gauge({ name: 'tollgate_active_streams', help: 'Completion streams open now, by surface.', labelNames: ['surface'], registers });
    this.#streams = new Children((v) => streams.labels(...v));

    this.#registerScrapeTime(this.#sources, registers);
  }

  bind(sources: Partial<MetricSources>): void {
    Object.assign(this.#sources, sources);
  }

  httpRequest(surface: Surface, route: string, status: number): void {
    this.#http.get3(surface, route, status).inc();
  }

  /** Everything a settled completion tells: outcome, tokens, timings, refusals. */
  completion(event: UsageEvent, surface: Surface, timing: CompletionTiming | undefined, streamed: boolean): void {
    const model = event.servedModel ?? (this.#sources.modelKnown(event.requestedModel) ? event.requestedModel : 'unknown');
    this.#completions.get4(surface, event.kind, model, event.status).inc();
    if (event.status === 'refused') this.#refusals.get2(surface, event.errorCode === 'QUOTA_EXCEEDED' ? 'quota_exceeded' : 'rate_limited').inc();
    const provider = event.provider ?? 'none';
    if (event.promptTokens > 0) this.#tokenChild(model, provider, 'prompt', event.tenantId).inc(event.promptTokens);
    if (event.completionTokens > 0) this.#tokenChild(model, provider, 'completion', event.tenantId).inc(event.completionTokens);
    if (timing !== undefined && event.deployment !== null) {
      this.#upstream.get2(provider, event.deployment).observe(timing.upstreamMs / 1000);
      this.#overhead.get2(surface, event.kind).observe(Math.max(0, timing.overheadMs) / 1000);
    }
    if (event.ttftMs !== null && event.status === 'ok') this.#ttft.get2(model, streamed ? 'true' : 'false').observe(event.ttftMs / 1000);
  }

  upstreamError(deployment: string, kind: string): void {
    this.#upstreamErrors.get2(deployment, kind).inc();
  }

  streamOpened(surface: Surface): void {
    this.#streams.get1(surface).inc();
  }

  streamClosed(surface: Surface): void {
    this.#streams.get1(surface).dec();
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #tokenChild(model: string, provider: string, type: string, tenant: string): CounterChild {
    return this.#tenantLabel ? this.#tokens.get4(model, provider, type, tenant) : this.#tokens.get3(model, provider, type);
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
