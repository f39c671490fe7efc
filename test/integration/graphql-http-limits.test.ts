import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAdmin, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';

// /graphql holds TOLLGATE_MAX_BODY_BYTES like /v1 (413) and the WebSocket (1009), and a subscription
// asked for as plain JSON is told why in a JSON error with a code.

const LIMIT = 64 * 1024;

/** Sends `body` in chunks without a Content-Length, as a streaming client would. */
function postChunked(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...asAdmin() } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    // The server may answer and stop reading before the last chunk: that is the point.
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.slice(i, i + 16 * 1024));
    req.end();
  });
}

describe('/graphql over HTTP: body limit and subscriptions', () => {
  let gateway: TestApp;
  let tenantId: string;
  beforeAll(async () => {
    gateway = await startTestApp({ config: { server: { maxBodyBytes: LIMIT } } });
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation { createTenant(input: { name: "Limits Co" }) { tenant { id } } }', {}, asAdmin());
    tenantId = created.data!.createTenant.tenant.id;
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  const padded = (bytes: number) => JSON.stringify({ query: '{ viewer { kind } }', variables: { padding: 'x'.repeat(bytes) } });

  it('refuses a body over the limit with 413 and a JSON error, and still serves the next request', async () => {
    const response = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...asAdmin() }, body: padded(5.5 * 1024 * 1024) });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0]!.message).toContain(`limit of ${LIMIT} bytes`);
    const next = await graphqlRequest<{ viewer: { kind: string } }>(gateway.url, '{ viewer { kind } }', {}, asAdmin());
    expect(next.data?.viewer.kind).toBeTruthy();
  });

  it('refuses a chunked body without Content-Length once it crosses the limit', async () => {
    const response = await postChunked(gateway.url, padded(LIMIT * 4));
    expect(response.status).toBe(413);
    expect((JSON.parse(response.body) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('serves a body just under the limit, chunked or not', async () => {
    const body = padded(LIMIT - 1024);
    const plain = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...asAdmin() }, body });
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as { data: { viewer: { kind: string } } }).data.viewer.kind).toBeTruthy();
    const chunked = await postChunked(gateway.url, body);
    expect(chunked.status).toBe(200);
    expect((JSON.parse(chunked.body) as { data: { viewer: { kind: string } } }).data.viewer.kind).toBeTruthy();
  });

  it('answers a subscription POSTed with Accept: application/json with a JSON error that has a code', async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...asAdmin(tenantId) },
      body: JSON.stringify({ query: 'subscription { quotaUpdated { limit } }' }),
    });
    expect(response.status).toBe(406);
    expect(response.headers.get('content-type')).toContain('json');
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0]!.message).toContain('text/event-stream');
  });
});
