import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from '../shared/logger.ts';
import { currentSpanStore, type SpanAttributes, type SpanKind as Kind, type StartSpanOptions, type TraceSpan, type Tracing } from './tracing.ts';

// Loaded only when an OTLP endpoint is configured (see loadTracing). The exporter reads the standard
// OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout) itself. No global provider is
// registered: spans are made here and passed explicitly, so nothing else in the process is patched.

const kinds: Record<Kind, SpanKind> = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL };

class OtelSpan implements TraceSpan {
  readonly span: Span;
  #traceparent: string | undefined;

  constructor(span: Span) {
    this.span = span;
  }

  get traceparent(): string {
    if (this.#traceparent === undefined) {
      const { traceId, spanId, traceFlags } = this.span.spanContext();
      this.#traceparent = `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    }
    return this.#traceparent;
  }

  setAttributes(attributes: SpanAttributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.span.setAttribute(key, value);
    }
  }

  fail(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string') this.span.setAttribute('error.type', code);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
  }

  end(): void {
    this.span.end();
  }
}

function parentContext(parent: TraceSpan | string | undefined): Context {
  if (parent === undefined) return ROOT_CONTEXT;
  if (parent instanceof OtelSpan) return trace.setSpan(ROOT_CONTEXT, parent.span);
  const spanContext = typeof parent === 'string' ? parseTraceParent(parent) : parseTraceParent(parent.traceparent);
  return spanContext ? trace.setSpanContext(ROOT_CONTEXT, { ...spanContext, isRemote: true }) : ROOT_CONTEXT;
}

export function createOtelTracing(options: { url: string; serviceName: string; logger: Logger }): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.url }), maxQueueSize: 8192, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('tollgate');
  return {
    startSpan(name: string, start: StartSpanOptions = {}): TraceSpan {
      const span = tracer.startSpan(name, { kind: kinds[start.kind ?? 'internal'] }, parentContext(start.parent));
      const wrapped = new OtelSpan(span);
      if (start.attributes) wrapped.setAttributes(start.attributes);
      return wrapped;
    },
    run: (span, fn) => currentSpanStore.run(span, fn),
    current: () => currentSpanStore.getStore(),
    shutdown: async () => {
      try {
        await provider.shutdown();
      } catch (error) {
        options.logger.warn({ err: String(error) }, 'tracing: could not export the last spans');
      }
    },
  };
}
