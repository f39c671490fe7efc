import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** A stand-in OTLP/HTTP collector: keeps every span it is sent (JSON encoding). */
async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; server: Server }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, spans, server };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
};

describe('OpenTelemetry traces (OTLP endpoint configured)', () => {
  let upstream: FakeUpstream;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let gateway: TestApp;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    collector = await startCollector();
    gateway = await startTestApp({
      config: { telemetry: { otlpTracesUrl: collector.url } },
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation { createTenant(input: { name: "Traced" }) { tenant { id } } }', {}, asAdmin());
    tenantId = created.data!.createTenant.tenant.id;
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    collector?.server.close();
  });

  it("continues the caller's trace: request, completion, attempt and usage insert spans, traceparent sent upstream", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    const completion = await client.chat.completions.create(
      { model: 'chat-model', messages: [{ role: 'user', content: 'trace me' }] },
      { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
    );
    await gateway.app.deps.usageMeter.flush();
    await gateway.stop();

    const sent = upstream.requests.find((r) => r.path === '/v1/chat/completions');
    expect(sent?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    const inTrace = collector.spans.filter((s) => s.traceId === traceId);
    const server = inTrace.find((s) => s.name === 'POST /v1/chat/completions');
    const request = inTrace.find((s) => s.name === 'chat chat-model');
    const attempt = inTrace.find((s) => s.name.startsWith('attempt '));
    expect(server?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(request?.parentSpanId).toBe(server?.spanId);
    expect(attempt?.parentSpanId).toBe(request?.spanId);
    expect(sent?.headers.traceparent).toContain(attempt!.spanId);
    expect(attribute(request!, 'tollgate.tenant_id')).toBe(tenantId);
    expect(attribute(request!, 'gen_ai.provider.name')).toBe('gpu-a');
    expect(Number(attribute(request!, 'gen_ai.usage.output_tokens'))).toBe(completion.usage?.completion_tokens);
    expect(collector.spans.some((s) => s.name === 'usage store insert' && Number(attribute(s, 'tollgate.usage.events')) >= 1)).toBe(true);
  });
});
