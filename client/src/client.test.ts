import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../../test/testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../../test/testkit/fake-upstream.ts';
import { createTollgateClient } from './client.ts';
import { BadUserInputError, ForbiddenError, NotFoundError, UnauthenticatedError } from './errors.ts';
import { CreateApiKeyDocument, CreateChatCompletionDocument, CreateTenantDocument, PlansDocument, UpdatePlanDocument, ViewerDocument } from './generated/graphql.ts';

describe('the typed client against a running gateway', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
    const admin = createTollgateClient({ url: gateway.url, apiKey: testAdminKey });
    tenantId = (await admin.execute(CreateTenantDocument, { input: { name: 'Client Co', plan: 'starter' } })).createTenant.tenant.id;
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('executes typed queries and mutations', async () => {
    const client = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, tenantId });
    const { viewer } = await client.execute(ViewerDocument);
    expect(viewer).toMatchObject({ kind: 'PLATFORM_ADMIN', tenantId });
    const { plans } = await client.execute(PlansDocument);
    expect(plans.map((p) => p.id)).toEqual(['free', 'starter', 'pro', 'enterprise']);
  });

  it('surfaces errors as classes carrying extensions.code', async () => {
    const anonymous = createTollgateClient({ url: gateway.url });
    await expect(anonymous.execute(CreateTenantDocument, { input: { name: 'x' } })).rejects.toBeInstanceOf(UnauthenticatedError);
    const wrong = createTollgateClient({ url: gateway.url, apiKey: 'not-a-key' });
    await expect(wrong.execute(ViewerDocument)).rejects.toBeInstanceOf(UnauthenticatedError);
    const admin = createTollgateClient({ url: gateway.url, getToken: () => testAdminKey });
    await expect(admin.execute(CreateTenantDocument, { input: { name: 'x', plan: 'gold' } })).rejects.toBeInstanceOf(BadUserInputError);
    const tenant = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, tenantId });
    const error = await tenant.streamCompletion({ model: 'missing', messages: [{ role: 'user', content: 'x' }] }).next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    const noTenant = await createTollgateClient({ url: gateway.url, apiKey: testAdminKey, webSocketImpl: WebSocket })
      .streamCompletion({ model: 'chat-model', messages: [{ role: 'user', content: 'x' }] })
      .next()
      .catch((e: unknown) => e);
    expect(noTenant).toBeInstanceOf(ForbiddenError);
  });

  for (const transport of ['websocket', 'sse'] as const) {
    it(`streams a completion over ${transport}`, async () => {
      const client = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, tenantId, transport, webSocketImpl: WebSocket });
      try {
        let text = '';
        let last;
        for await (const chunk of client.streamCompletion({ model: 'chat-model', messages: [{ role: 'user', content: 'typed stream' }] })) {
          text += chunk.delta;
          last = chunk;
        }
        expect(text).toBe(fakeTokens('typed stream', 5).join(''));
        expect(last?.finishReason).toBe('stop');
        expect(last?.usage?.completionTokens).toBe(5);
        // The same client streams again once the first stream is done.
        let again = '';
        for await (const chunk of client.streamCompletion({ model: 'chat-model', messages: [{ role: 'user', content: 'typed stream' }] })) again += chunk.delta;
        expect(again).toBe(text);
      } finally {
        await client.close();
      }
    });
  }

  it('stops the upstream when the caller breaks out of the stream', async () => {
    // Long enough that the upstream never ends it by itself: seeing the abort proves it was passed on.
    upstream.setBehaviour({ tokens: 100_000, tokenDelayMs: 10 });
    const client = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, tenantId, webSocketImpl: WebSocket });
    try {
      const aborted = upstream.nextAbort();
      for await (const chunk of client.streamCompletion({ model: 'chat-model', messages: [{ role: 'user', content: 'stop early' }] })) {
        if (chunk.delta) break;
      }
      await aborted;
    } finally {
      upstream.reset();
      await client.close();
    }
  });

  it('lets the platform edit a plan, and watches quota alerts as they happen', async () => {
    const admin = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, webSocketImpl: WebSocket });
    try {
      const { updatePlan } = await admin.execute(UpdatePlanDocument, { input: { id: 'free', monthlyTokens: 100, monthlyPrice: '1.50' } });
      expect(updatePlan.plan).toMatchObject({ id: 'free', monthlyTokens: 100, monthlyPrice: '1.50' });
      await expect(admin.execute(UpdatePlanDocument, { input: { id: 'free', monthlyPrice: 'cheap' } })).rejects.toBeInstanceOf(BadUserInputError);
      const { createApiKey } = await admin.execute(CreateApiKeyDocument, { input: { tenantId, name: 'tenant admin key', scopes: ['ADMIN'] } });
      const tenant = createTollgateClient({ url: gateway.url, apiKey: createApiKey.secret });
      await expect(tenant.execute(UpdatePlanDocument, { input: { id: 'free', monthlyTokens: 1 } })).rejects.toBeInstanceOf(ForbiddenError);

      const { createTenant } = await admin.execute(CreateTenantDocument, { input: { name: 'Watched', plan: 'free' } });
      const watched = createTollgateClient({ url: gateway.url, apiKey: testAdminKey, tenantId: createTenant.tenant.id, webSocketImpl: WebSocket });
      const updates = watched.watchQuota(createTenant.tenant.id);
      const first = updates.next();
      // Give the subscription a moment to be registered before the usage that triggers it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      upstream.setBehaviour({ tokens: 90 });
      await watched.execute(CreateChatCompletionDocument, { input: { model: 'chat-model', messages: [{ role: 'user', content: 'use most of it' }] } });
      const update = await first;
      expect(update.done).toBe(false);
      expect(update.value).toMatchObject({ tenantId: createTenant.tenant.id, limit: 100 });
      expect(['WARNING', 'EXCEEDED']).toContain(update.value?.state);
      await updates.return?.();
      await watched.close();
    } finally {
      upstream.reset();
      await admin.close();
    }
  });

  it('is the same API the raw transport sees', async () => {
    const raw = await graphqlRequest<{ plans: { id: string }[] }>(gateway.url, '{ plans { id } }', {}, asAdmin());
    const typed = await createTollgateClient({ url: gateway.url }).execute(PlansDocument);
    expect(typed.plans.map((p) => p.id)).toEqual(raw.data!.plans.map((p) => p.id));
  });
});
