import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.ts';
import type { UsageEvent } from '../modules/usage/index.ts';
import { unredactedLogger, type Logger } from '../shared/logger.ts';
import { GatewayMetrics, type CompletionTiming, type Surface } from './metrics.ts';
import { RequestLog } from './request-log.ts';
import { loadTracing, type Tracing } from './tracing.ts';

/** Metrics always; tracing only when an OTLP endpoint is configured. */
export async function createTelemetry(config: Config, logger: Logger): Promise<Telemetry> {
  const tracing = await loadTracing(config.telemetry, logger);
  return new Telemetry({ metrics: new GatewayMetrics({ tenantLabel: config.telemetry.tenantLabel }), tracing, logger });
}

/** What the completion service reports as each request settles and as streams open and close. */
export interface CompletionObserver {
  settled(event: UsageEvent, detail: { surface: Surface; timing: CompletionTiming | undefined; streamed: boolean }): void;
  streamOpened(surface: Surface): void;
  streamClosed(surface: Surface): void;
  upstreamError(deployment: string, kind: string): void;
}

/** Metrics, logs and traces for one app: the one object the transports and services report to. */
export class Telemetry implements CompletionObserver {
  readonly metrics: GatewayMetrics;
  readonly tracing: Tracing | undefined;
  readonly #logger: Logger;
  readonly #requestLog: RequestLog;

  constructor(options: { metrics: GatewayMetrics; tracing: Tracing | undefined; logger: Logger }) {
    this.metrics = options.metrics;
    this.tracing = options.tracing;
    // Request lines are built field by field from values that are never secrets, so they skip the
    // redaction pass, which would cost more than the line itself.
    this.#logger = unredactedLogger(options.logger);
    this.#requestLog = new RequestLog(this.#logger);
  }

  /**
   * The request log: one line per completion, chat or embedding request, whichever surface it came
   * from. It names who, what and how it went; never a credential and never prompt or answer text.
   */
  settled(event: UsageEvent, detail: { surface: Surface; timing: CompletionTiming | undefined; streamed: boolean }): void {
    this.metrics.completion(event, detail.surface, detail.timing, detail.streamed);
    const level = event.status === 'error' ? 'warn' : 'info';
    if (this.#requestLog.enabled(level)) {
      const line = {
        requestId: event.requestId,
        surface: detail.surface,
        tenantId: event.tenantId,
        apiKeyId: event.apiKeyId,
        userId: event.userId,
        kind: event.kind,
        model: event.requestedModel,
        servedModel: event.servedModel,
        deployment: event.deployment,
        stream: detail.streamed,
        status: event.status,
        errorCode: event.errorCode,
        promptTokens: event.promptTokens,
        completionTokens: event.completionTokens,
        estimated: event.tokensEstimated,
        cacheHit: event.cacheHit,
        ttftMs: event.ttftMs,
        latencyMs: event.latencyMs,
        upstreamMs: detail.timing === undefined ? null : Math.round(detail.timing.upstreamMs),
      };
      this.#requestLog.write(level, line, event.status === 'error' ? 'completion failed' : 'completion');
    }
  }

  streamOpened(surface: Surface): void {
    this.metrics.streamOpened(surface);
  }

  streamClosed(surface: Surface): void {
    this.metrics.streamClosed(surface);
  }

  upstreamError(deployment: string, kind: string): void {
    this.metrics.upstreamError(deployment, kind);
  }

  /**
   * Counts every HTTP request and logs those the completion log does not cover (GraphQL, models,
   * refusals before a completion started). Health, readiness and scrapes log at debug only.
   */
  httpRequest(req: IncomingMessage, res: ServerResponse, surface: Surface, route: string, requestId: string, startedAt: number): void {
    this.metrics.httpRequest(surface, route, res.statusCode);
    if (completionRequests.has(req)) return;
    const level = surface === 'ops' ? 'debug' : res.statusCode >= 500 ? 'warn' : 'info';
    if (!this.#logger.isLevelEnabled(level)) return;
    this.#logger[level](
      {
        requestId,
        surface,
        method: req.method,
        route,
        status: res.statusCode,
        latencyMs: Math.round(performance.now() - startedAt),
        ...(res.writableFinished ? {} : { aborted: true }),
      },
      'http request',
    );
  }
}

const completionRequests = new WeakSet<IncomingMessage>();

/** Marks an HTTP request whose log line the completion service writes when it settles. */
export function handedToCompletions(req: IncomingMessage): void {
  completionRequests.add(req);
}

export interface RouteLabel {
  readonly surface: Surface;
  readonly route: string;
}

// Shared constant objects: labelling a request allocates nothing, and unknown paths share one label.
const routes = new Map<string, RouteLabel>(
  [
    ...['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/models', '/v1/usage', '/v1/openapi.json'].map((route) => ({ surface: 'v1' as const, route })),
    { surface: 'graphql' as const, route: '/graphql' },
    ...['/healthz', '/health', '/readyz', '/metrics'].map((route) => ({ surface: 'ops' as const, route })),
  ].map((label) => [label.route, Object.freeze(label)]),
);
const otherV1: RouteLabel = Object.freeze({ surface: 'v1', route: '/v1/other' });
const other: RouteLabel = Object.freeze({ surface: 'other', route: 'other' });

export function routeOf(path: string): RouteLabel {
  return routes.get(path) ?? (path.startsWith('/v1/') ? otherV1 : other);
}
