import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// A model's price as versions: each request is priced at the version in force when it is served, and
// what was served keeps its price whatever is set later.

describe.each(sqlDialects())('model price versions on $name', (dialect) => {
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let gateway: TestApp;
  let tenantId: string;
  const setPrice = (input: Record<string, unknown>) =>
    graphqlRequest<{ setModelPrice: { priceVersions: { effectiveFrom: string; inputPerMillion: string }[] } }>(
      gateway.url,
      'mutation($i: SetModelPriceInput!) { setModelPrice(input: $i) { priceVersions { effectiveFrom inputPerMillion } } }',
      { i: input },
      asAdmin(),
    );
  const complete = async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    return (await openai.chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'price me' }] }).withResponse()).response.headers.get('x-request-id')!;
  };

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 1_000 } });
    database = await dialect.create();
    gateway = await startTestApp({
      databaseUrl: database.databaseUrl,
      inference: {
        providers: [{ name: 'gpu', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }], price: { inputPerMillion: '0', outputPerMillion: '3.00', currency: 'USD' } }],
      },
    });
    const created = await graphqlRequest<{ createTenant: { tenant: { id: string } } }>(gateway.url, 'mutation { createTenant(input: { name: "Priced", plan: "pro" }) { tenant { id } } }', {}, asAdmin());
    tenantId = created.data!.createTenant.tenant.id;
  });
  afterAll(async () => {
    await gateway?.stop();
    await database?.dispose();
    await upstream?.close();
  });

  it('prices each request at the version in force when served, and never reprices it', async () => {
    const configured = await complete();
    const edit = await setPrice({ model: 'chat-model', inputPerMillion: '0', outputPerMillion: '30.00', currency: 'USD' });
    expect(edit.errors).toBeUndefined();
    const edited = await complete();
    // Scheduled for later: not in force yet.
    const later = await setPrice({ model: 'chat-model', inputPerMillion: '0', outputPerMillion: '300.00', currency: 'USD', effectiveFrom: '2099-01-01T00:00:00Z' });
    expect(later.data!.setModelPrice.priceVersions.map((v) => v.effectiveFrom.slice(0, 4))).toEqual([String(new Date().getUTCFullYear()), '2099']);
    const stillEdited = await complete();

    await gateway.app.deps.usageMeter.flush({ timeoutMs: 10_000 });
    const events = await gateway.app.deps.usageStore.events({ tenantId, range: null, filter: {}, limit: 10, after: null });
    const costOf = (requestId: string) => events.find((e) => e.requestId === requestId)!;
    // 1,000 completion tokens at 3.00, then 30.00, per million.
    expect([configured, edited, stillEdited].map((id) => [costOf(id).completionTokens, costOf(id).costMicros, costOf(id).currency])).toEqual([
      [1_000, 3_000, 'USD'],
      [1_000, 30_000, 'USD'],
      [1_000, 30_000, 'USD'],
    ]);
    const models = await graphqlRequest<{ models: { name: string; price: { outputPerMillion: string } }[] }>(gateway.url, '{ models { name price { outputPerMillion } } }', {}, asAdmin());
    expect(models.data!.models).toEqual([{ name: 'chat-model', price: { outputPerMillion: '30.000000' } }]);
    // The cost report sums what each request was charged.
    const month = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
    const report = await graphqlRequest<{ tenant: { usage: { totals: { cost: { amountMicros: string } } } } }>(
      gateway.url,
      'query($id: ID!, $r: DateRangeInput!) { tenant(id: $id) { usage(range: $r) { totals { cost { amountMicros } } } } }',
      { id: tenantId, r: { from: month.toISOString(), to: new Date(Date.now() + 60_000).toISOString() } },
      asAdmin(),
    );
    expect(report.data!.tenant.usage.totals.cost.amountMicros).toBe('63000');
  });

  it('refuses a price in the past, an unknown model and a malformed amount, naming the field', async () => {
    const fieldOf = async (input: Record<string, unknown>) => (await setPrice({ model: 'chat-model', inputPerMillion: '1', outputPerMillion: '1', currency: 'USD', ...input })).errors?.[0]?.extensions;
    expect(await fieldOf({ effectiveFrom: '2020-01-01T00:00:00Z' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'effectiveFrom' });
    expect(await fieldOf({ model: 'nope' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'model' });
    expect(await fieldOf({ outputPerMillion: '1.0000001' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'outputPerMillion' });
    expect(await fieldOf({ currency: 'dollars' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'currency' });
  });
});
