import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { adminClient, asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { fakeTokens, startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';

// The other /v1 endpoints pass the OpenAI wire through too: embeddings (dimensions, user,
// encoding_format), text completions (seed, penalties, logprobs, echo, suffix, n, several prompts)
// and the models the SDK lists and retrieves.

describe('/v1 embeddings, completions and models through the official SDK', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    gateway = await startTestApp({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'writer', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-writer', weight: 1 }] },
          { name: 'org/embedder', kind: 'embedding', deployments: [{ provider: 'gpu-a', model: 'upstream-embed', weight: 1 }] },
        ],
      },
    });
    const tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Endpoints Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const received = () => upstream.requests.at(-1)?.body;

  it('passes dimensions, user and encoding_format to the embeddings upstream', async () => {
    const floats = await client.embeddings.create({ model: 'org/embedder', input: ['alpha', 'beta'], dimensions: 4, user: 'u-1', encoding_format: 'float' });
    expect(received()).toEqual({ model: 'upstream-embed', input: ['alpha', 'beta'], dimensions: 4, user: 'u-1', encoding_format: 'float' });
    expect(floats.data.map((row) => row.embedding.length)).toEqual([4, 4]);

    // The SDK asks for base64 by default and decodes it: the same vectors, as float32.
    const decoded = await client.embeddings.create({ model: 'org/embedder', input: ['alpha', 'beta'], dimensions: 4 });
    expect(received()).toMatchObject({ dimensions: 4, encoding_format: 'base64' });
    expect(decoded.data.map((row) => row.embedding)).toEqual(floats.data.map((row) => [...new Float32Array(row.embedding)]));
  });

  it('passes the completion fields through and returns a choice per prompt', async () => {
    const params = {
      model: 'writer',
      prompt: ['Once upon', 'In a galaxy'],
      seed: 11,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      logprobs: 2,
      echo: true,
      suffix: ' The end.',
      n: 2,
      max_tokens: 5,
      best_of: 2,
    };
    const completion = await client.completions.create(params);
    expect(received()).toEqual({ ...params, model: 'upstream-writer' });
    expect(completion.model).toBe('writer');
    expect(completion.choices.map((choice) => choice.text)).toEqual([
      `Once upon${fakeTokens('Once upon', 3).join('')}`,
      `Once upon${fakeTokens('Once upon', 3).join('')}`,
      `In a galaxy${fakeTokens('In a galaxy', 3).join('')}`,
      `In a galaxy${fakeTokens('In a galaxy', 3).join('')}`,
    ]);
    expect(completion.usage?.completion_tokens).toBe(12);
  });

  it('lists models as the SDK reads them and retrieves one by id, slashes and all', async () => {
    const list = await client.models.list();
    expect(list.data.map((model) => model.id).sort()).toEqual(['org/embedder', 'writer']);
    expect(list.data[0]).toEqual({ id: expect.any(String), object: 'model', created: expect.any(Number), owned_by: 'tollgate' });
    expect(await client.models.retrieve('org/embedder')).toEqual({ id: 'org/embedder', object: 'model', created: 0, owned_by: 'tollgate' });
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("retrieves a tenant's own model names only: another tenant's private alias is 404 like an unknown model", async () => {
    const tenant = async (name: string) => (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name, plan: 'enterprise' } })).createTenant.tenant.id;
    const [owner, other] = [await tenant('Alias Owner Co'), await tenant('Other Co')];
    const aliased = await graphqlRequest(
      gateway.url,
      'mutation($input: UpdateInferenceConfigInput!) { updateInferenceConfig(input: $input) { inferenceConfig { tenantId } } }',
      { input: { tenantId: owner, modelOverrides: [{ model: 'owner-private', target: 'writer' }] } },
      asAdmin(),
    );
    expect(aliased.errors).toBeUndefined();
    const as = (tenantId: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    expect(await as(owner).models.retrieve('owner-private')).toEqual({ id: 'owner-private', object: 'model', created: 0, owned_by: 'tollgate' });
    const refusals = [await as(other).models.retrieve('owner-private').catch((e: unknown) => e), await as(other).models.retrieve('no-such-model').catch((e: unknown) => e)];
    for (const [refusal, id] of [[refusals[0], 'owner-private'], [refusals[1], 'no-such-model']] as const) {
      expect(refusal).toBeInstanceOf(OpenAI.NotFoundError);
      expect((refusal as Error).message).toContain(id);
    }
    // The same answer for both, so it tells nothing of the other tenant's names.
    expect((refusals[0] as Error).message.replace('owner-private', 'X')).toBe((refusals[1] as Error).message.replace('no-such-model', 'X'));
  });
});
