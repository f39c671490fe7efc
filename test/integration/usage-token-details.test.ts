import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, asAdmin, graphqlRequest, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { usageStoreBackends } from '../testkit/usage-stores.ts';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';

// Usage of OpenAI-wire requests (tool calls, n choices, reasoning, cut streams) is the upstream's
// usage block, cached and reasoning tokens included, recorded exactly once in every usage store.

const backends = usageStoreBackends();

interface EventRow {
  requestId: string;
  status: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  tokensEstimated: boolean;
}

const weatherTool: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };

describe.each(backends)('usage token details on $name', (backend) => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let dispose: () => Promise<void>;
  let tenantId: string;
  let client: OpenAI;
  let direct: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 4 } });
    ({ gateway, dispose } = await backend.start({
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'thinker', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'up?reasoning=1&cached-tokens=2', weight: 1 }] },
          { name: 'cutter', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'up?cut-after=2', weight: 1 }] },
        ],
      },
    }));
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'Details Co', plan: 'enterprise' } })).createTenant.tenant.id;
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
    direct = new OpenAI({ baseURL: upstream.openaiBaseUrl, apiKey: 'direct', maxRetries: 0 });
  });
  afterAll(async () => {
    await dispose?.();
    await upstream?.close();
  });

  async function events(): Promise<EventRow[]> {
    const result = await graphqlRequest<{ tenant: { usageEvents: { edges: { node: EventRow }[] } } }>(
      gateway.url,
      `query($id: ID!) { tenant(id: $id) { usageEvents(first: 50) { edges { node {
        requestId status promptTokens completionTokens totalTokens cachedTokens reasoningTokens tokensEstimated } } } } }`,
      { id: tenantId },
      asAdmin(),
    );
    expect(result.errors).toBeUndefined();
    return result.data!.tenant.usageEvents.edges.map((edge) => edge.node);
  }

  async function upstreamUsage(params: OpenAI.ChatCompletionCreateParamsNonStreaming): Promise<OpenAI.CompletionUsage> {
    return (await direct.chat.completions.create({ ...params, model: 'up?reasoning=1&cached-tokens=2' })).usage!;
  }

  const fromUsage = (requestId: string, usage: OpenAI.CompletionUsage) => ({
    requestId,
    status: 'OK',
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    tokensEstimated: false,
  });

  it('records the upstream usage block of tool calls, n choices and streams exactly once', async () => {
    const toolCall = { model: 'thinker', messages: [{ role: 'user' as const, content: 'weather?' }], tools: [weatherTool] };
    const answer = await client.chat.completions.create(toolCall, { headers: { 'x-request-id': 'tool-call' } });
    expect(answer.usage?.completion_tokens_details?.reasoning_tokens).toBe(3);

    const twoChoices = { model: 'thinker', messages: [{ role: 'user' as const, content: 'two please' }], n: 2 };
    const stream = await client.chat.completions.create({ ...twoChoices, stream: true }, { headers: { 'x-request-id': 'two-streamed' } });
    for await (const chunk of stream) expect(chunk.usage ?? undefined).toBeUndefined();

    const expected = [fromUsage('tool-call', await upstreamUsage(toolCall)), fromUsage('two-streamed', await upstreamUsage(twoChoices))];
    expect(expected[1]).toMatchObject({ cachedTokens: 2, reasoningTokens: 6 });
    await expect.poll(events, { timeout: 5_000 }).toHaveLength(2);
    expect((await events()).sort((a, b) => a.requestId.localeCompare(b.requestId))).toEqual(expected.sort((a, b) => a.requestId.localeCompare(b.requestId)));
  });

  it('sums cached and reasoning tokens in usage reports, totals and buckets, as the events have them', async () => {
    const recorded = await events();
    expect(recorded.some((event) => event.cachedTokens > 0 && event.reasoningTokens > 0)).toBe(true);
    const sum = (key: 'cachedTokens' | 'reasoningTokens') => recorded.reduce((total, event) => total + event[key], 0);
    const day = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()));
    // Whole days read the daily rollup, whole hours the hourly one, any other range the events.
    const ranges = [
      { from: new Date(day.getTime() - 86_400_000), to: new Date(day.getTime() + 86_400_000), groupBy: 'DAY' },
      { from: new Date(day.getTime() - 86_400_000), to: new Date(day.getTime() + 2 * 86_400_000), groupBy: 'HOUR' },
      { from: new Date(Date.now() - 3_600_500), to: new Date(Date.now() + 60_000), groupBy: 'MODEL' },
    ];
    // ClickHouse makes an insert's events visible before its views have filled the rollups, so a report
    // is read until it has them (the events above were seen as soon as the insert's first part landed).
    const report = async (from: Date, to: Date, groupBy: string) => {
      const result = await graphqlRequest<{ tenant: { usage: { totals: { cachedTokens: number; reasoningTokens: number }; buckets: { totals: { cachedTokens: number; reasoningTokens: number } }[] } } }>(
        gateway.url,
        `query($id: ID!, $range: DateRangeInput!, $groupBy: UsageGroupBy) { tenant(id: $id) { usage(range: $range, groupBy: $groupBy) {
          totals { cachedTokens reasoningTokens } buckets { totals { cachedTokens reasoningTokens } } } } }`,
        { id: tenantId, range: { from: from.toISOString(), to: to.toISOString() }, groupBy },
        asAdmin(),
      );
      expect(result.errors).toBeUndefined();
      return result.data!.tenant.usage;
    };
    for (const { from, to, groupBy } of ranges) {
      const expected = { cachedTokens: sum('cachedTokens'), reasoningTokens: sum('reasoningTokens') };
      await expect.poll(async () => (await report(from, to, groupBy)).totals, { timeout: 5_000, message: groupBy }).toEqual(expected);
      const usage = await report(from, to, groupBy);
      expect(usage.buckets.reduce((total, bucket) => total + bucket.totals.cachedTokens, 0)).toBe(sum('cachedTokens'));
      expect(usage.buckets.reduce((total, bucket) => total + bucket.totals.reasoningTokens, 0)).toBe(sum('reasoningTokens'));
    }
  });

  it('records a stream cut by the upstream once, with what was streamed estimated', async () => {
    const before = (await events()).length;
    const cut = await client.chat.completions.create(
      { model: 'cutter', messages: [{ role: 'user', content: 'cut me' }], stream: true },
      { headers: { 'x-request-id': 'cut-stream' } },
    );
    const failure = await (async () => {
      for await (const _chunk of cut) void _chunk;
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    await expect.poll(async () => (await events()).length, { timeout: 5_000 }).toBe(before + 1);
    const recorded = (await events()).filter((event) => event.requestId === 'cut-stream');
    expect(recorded).toEqual([expect.objectContaining({ status: 'ERROR', tokensEstimated: true })]);
    // What reached the client before the cut, counted: two words.
    expect(recorded[0]!.completionTokens).toBeGreaterThan(0);
  });
});
