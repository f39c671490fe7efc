import { AsyncLocalStorage } from 'node:async_hooks';
import type { TelemetryConfig } from '../config.ts';
import type { Logger } from '../shared/logger.ts';

export type SpanAttributes = Record<string, string | number | boolean | undefined>;
export type SpanKind = 'server' | 'client' | 'internal';

/** One span, whatever implements it; code holding none (tracing off) skips every call. */
export interface TraceSpan {
  /** The W3C `traceparent` naming this span, to send to the next hop. */
  readonly traceparent: string;
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed; the message is recorded, never a stack or a request body. */
  fail(error: unknown): void;
  end(): void;
}

export interface StartSpanOptions {
  /** A parent span, or a caller's `traceparent` header value (ignored when malformed). */
  parent?: TraceSpan | string | undefined;
  kind?: SpanKind;
  attributes?: SpanAttributes;
}

export interface Tracing {
  startSpan(name: string, options?: StartSpanOptions): TraceSpan;
  /** Runs fn with span as the current one for everything it calls, sync or async. */
  run<T>(span: TraceSpan, fn: () => T): T;
  /** The span of the request being served here, if any. */
  current(): TraceSpan | undefined;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The current span travels with async work only when tracing is on; the store is never touched otherwise. */
export const currentSpanStore = new AsyncLocalStorage<TraceSpan>();

/**
 * Tracing is on only when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT); the
 * OpenTelemetry SDK is imported then and only then, so a gateway without it pays nothing.
 */
export async function loadTracing(config: TelemetryConfig, logger: Logger): Promise<Tracing | undefined> {
  const url = config.otlpTracesUrl;
  if (url === undefined) return undefined;
  const { createOtelTracing } = await import('./otel-tracing.ts');
  const tracing = createOtelTracing({ url, serviceName: config.serviceName, logger });
  logger.info({ endpoint: redactEndpoint(url) }, 'tracing: exporting spans over OTLP/HTTP');
  return tracing;
}

function redactEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString();
  } catch {
    return '(unparseable)';
  }
}
