import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

/** Opens a raw graphql-transport-ws socket and resolves with its close code. */
function closeCodeOf(url: string, onOpen: (socket: WebSocket) => void): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.on('open', () => onOpen(socket));
    socket.on('close', (code) => resolve(code));
    socket.on('error', () => {});
  });
}

describe('graphql-ws connection limits', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let wsUrl: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 1_000, tokenDelayMs: 20 } });
    gateway = await startTestApp({
      config: { server: { maxSubscriptionsPerSocket: 2, maxBodyBytes: 64 * 1024 } },
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
    wsUrl = `${gateway.url.replace('http', 'ws')}/graphql`;
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('closes a socket that does not send connection_init within 3 s with 4408', async () => {
    const started = Date.now();
    const code = await closeCodeOf(wsUrl, () => {});
    expect(code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
  });

  it('closes a socket whose message is over the size limit with 1009', async () => {
    const code = await closeCodeOf(wsUrl, (socket) => socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(70 * 1024) } })));
    expect(code).toBe(1009);
  });

  it('refuses operations beyond the per-connection cap, naming it', async () => {
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation { createTenant(input: { name: "WS", plan: "enterprise" }) { tenant { id } } }', {}, asAdmin());
    const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${testAdminKey}`, 'x-tenant-id': created.data!.createTenant.tenant.id }, retryAttempts: 0 });
    const query = 'subscription { chatCompletion(input: { model: "chat-model", messages: [{ role: "user", content: "long" }] }) { delta } }';
    const stops: (() => void)[] = [];
    try {
      for (let i = 0; i < 2; i += 1) {
        await new Promise<void>((resolve, reject) => {
          stops.push(client.subscribe({ query }, { next: () => resolve(), error: reject, complete: () => {} }));
        });
      }
      const refused = await new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve) => {
        client.subscribe({ query }, { next: () => {}, error: (errors) => resolve(errors as never), complete: () => {} });
      });
      expect(refused[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(refused[0]?.message).toContain('at most 2');
    } finally {
      for (const stop of stops) stop();
      await client.dispose();
    }
  });
});
