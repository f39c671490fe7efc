import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomId } from '../../src/shared/ids.ts';
import { asAdmin, bearer, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { describeOnEachRedis } from '../testkit/redis-targets.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// Two app instances sharing one Postgres and one Redis (a server, then a cluster), as behind a load balancer: the limits, quotas
// and alerts they enforce are one truth, whichever instance a request lands on.

const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');

describeOnEachRedis('limits across two instances sharing Postgres and $name', postgres !== undefined, (target) => {
  const redisUrl = target.url;
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let a: TestApp;
  let b: TestApp;
  let hookServer: Server;
  let options: Parameters<typeof startTestApp>[0] & { config: { limits: Record<string, unknown> } };
  const hooks: string[] = [];
  const messages = [{ role: 'user' as const, content: 'Spread me over two instances' }];

  const gql = async <T,>(app: TestApp, query: string, variables: Record<string, unknown> = {}, headers = asAdmin()) => {
    const result = await graphqlRequest<T>(app.url, query, variables, headers);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data as T;
  };
  const createTenant = async (plan: string) =>
    (await gql<{ createTenant: { tenant: { id: string } } }>(a, 'mutation($p: String) { createTenant(input: { name: "Cross", plan: $p }) { tenant { id } } }', { p: plan }))
      .createTenant.tenant.id;
  const setLimits = (tenantId: string, limits: Record<string, number>) =>
    gql(a, 'mutation($t: ID!, $l: RateLimitsInput!) { setTenantLimits(tenantId: $t, limits: $l) { tenant { id } } }', { t: tenantId, l: limits });
  const client = (app: TestApp, tenantId: string) =>
    new OpenAI({ baseURL: `${app.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  const quota = async (tenantId: string, app = b) =>
    (await gql<{ tenant: { quota: { used: number; limit: number; state: string; requests: number } } }>(app, 'query($id: ID!) { tenant(id: $id) { quota { used limit state requests } } }', { id: tenantId }))
      .tenant.quota;
  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (error: unknown) => (error instanceof OpenAI.APIError ? `${error.status}:${(error.error as { code?: string } | undefined)?.code}` : String(error)),
    );

  beforeAll(async () => {
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        hooks.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    database = await postgres!.create();
    options = {
      databaseUrl: database.databaseUrl,
      redisUrl,
      inference: {
        providers: [{ name: 'gpu', type: 'openai' as const, baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'chat-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }] },
          { name: 'big-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream?tokens=30000', weight: 1 }] },
          { name: 'mid-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream?tokens=2000&first-token-delay-ms=300', weight: 1 }] },
          { name: 'slow-stream-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream?tokens=20&token-delay-ms=50', weight: 1 }] },
        ],
      },
      config: {
        limits: {
          keyPrefix: `test:cross:${randomId(8)}:`,
          graphqlPerMinute: 4,
          quotaWebhookUrl: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/quota`,
          quotaWebhookSecret: 'cross-instance-webhook-secret',
        },
      },
    };
    // One after the other: the first applies the migrations.
    a = await startTestApp(options);
    b = await startTestApp(options);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.dispose();
    await upstream?.close();
    await new Promise((resolve) => hookServer?.close(resolve));
  });

  it('gives a tenant at 60 requests per minute at most 60 successes in a minute across both instances', async () => {
    const tenantId = await createTenant('starter');
    await setLimits(tenantId, { concurrentRequests: 500 });
    const clients = [client(a, tenantId), client(b, tenantId)];
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => outcome(clients[i % 2]!.chat.completions.create({ model: 'chat-model', messages }))),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(60);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual(Array.from({ length: 40 }, () => '429:rate_limited'));
    // A request answered before its verdict may have its admission still held back (a few ms) by its instance.
    await expect.poll(async () => (await quota(tenantId)).requests, { timeout: 1_000 }).toBe(60);
  });

  it.each([false, true])('starts a request with ample headroom while its verdict is on its way, and aborts it when refused (stream: %s)', async (stream) => {
    const tenantId = await createTenant('pro');
    await setLimits(tenantId, { requestsPerMinute: 10, concurrentRequests: 100 });
    const onA = client(a, tenantId);
    // A's verdict leaves 9 of 10, then B uses them all: A's view is fresh but wrong.
    await onA.chat.completions.create({ model: 'chat-model', messages });
    await Promise.all(Array.from({ length: 9 }, () => client(b, tenantId).chat.completions.create({ model: 'chat-model', messages })));
    const seen = upstream.requests.length;
    const aborted = upstream.abortedRequests;
    const abort = upstream.nextAbort();
    // The model's first token takes 300 ms: the refusal comes while the early call waits for it.
    const refused = stream
      ? onA.chat.completions.create({ model: 'mid-model', messages, stream: true }).then(async (chunks) => {
          for await (const _ of chunks) throw new Error('a refused request streamed a chunk');
        })
      : onA.chat.completions.create({ model: 'mid-model', messages });
    expect(await outcome(refused)).toBe('429:rate_limited');
    await Promise.race([abort, new Promise((_, reject) => setTimeout(() => reject(new Error('the upstream saw no request aborted')), 5_000))]);
    expect(upstream.requests.length).toBe(seen + 1);
    expect(upstream.abortedRequests).toBe(aborted + 1);
    // After a refusal, A waits for each verdict again: a refused request no longer reaches the upstream.
    expect(await outcome(onA.chat.completions.create({ model: 'mid-model', messages }))).toBe('429:rate_limited');
    expect(upstream.requests.length).toBe(seen + 1);
    expect(await quota(tenantId)).toMatchObject({ requests: 10 });
  });

  it.each([false, true])('serves a request answered early past the limit when its refusal comes after the upstream answered, and counts it (stream: %s)', async (stream) => {
    // A third instance holds its early answers' admissions back for 500 ms: far longer than the upstream takes.
    const c = await startTestApp({ ...options, config: { ...options.config, limits: { ...options.config.limits, flushIntervalMs: 500 } } });
    try {
      const tenantId = await createTenant('pro');
      await setLimits(tenantId, { requestsPerMinute: 10, concurrentRequests: 100 });
      const onC = client(c, tenantId);
      await onC.chat.completions.create({ model: 'chat-model', messages });
      await Promise.all(Array.from({ length: 9 }, () => client(b, tenantId).chat.completions.create({ model: 'chat-model', messages })));
      // C's verdict left 9 of 10: it answers at once, and hears of the refusal only after (a stream's
      // 20 tokens take a second, so the refusal comes halfway through it, and must not cut it).
      if (stream) {
        const chunks = await onC.chat.completions.create({ model: 'slow-stream-model', messages, stream: true });
        let deltas = 0;
        let finish: string | null = null;
        for await (const chunk of chunks) {
          if (chunk.choices[0]?.delta.content) deltas += 1;
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        expect([deltas, finish]).toEqual([20, 'stop']);
      } else {
        const served = await onC.chat.completions.create({ model: 'chat-model', messages }).withResponse();
        expect(served.response.status).toBe(200);
        expect(served.response.headers.get('x-ratelimit-remaining-requests')).toBe('8');
      }
      const refusedLate = async () => {
        const text = await (await fetch(`${c.url}/metrics`)).text();
        return Number(/^tollgate_limit_early_answers_refused_total (\d+)/m.exec(text)?.[1] ?? 0);
      };
      await expect.poll(refusedLate, { timeout: 3_000 }).toBe(1);
      // Then C waits for each verdict again, and the window is full.
      expect(await outcome(onC.chat.completions.create({ model: 'chat-model', messages }))).toBe('429:rate_limited');
      // The month counts only the admitted requests; the usage store has every served one.
      expect(await quota(tenantId)).toMatchObject({ requests: 10 });
      await Promise.all([b.app.deps.usageMeter.flush(), c.app.deps.usageMeter.flush()]);
      const events = await c.app.deps.usageStore.events({ tenantId, range: null, filter: {}, limit: 100, after: null });
      expect(events.filter((e) => e.status === 'ok')).toHaveLength(11);
      expect(events.filter((e) => e.status === 'refused')).toHaveLength(1);
    } finally {
      await c.stop();
    }
  });

  it("sees a tenant's inference config changed on one instance on the other within a second, 20 times in a row", async () => {
    const tenantId = await createTenant('pro');
    const listed = async () => (await client(b, tenantId).models.list()).data.map((m) => m.id).sort();
    const all = ['big-model', 'chat-model', 'mid-model', 'slow-stream-model'];
    const late: string[] = [];
    for (let round = 0; round < 20; round += 1) {
      const allowed = round % 2 === 0 ? ['chat-model'] : null;
      // B holds the tenant's settings fresh in its 5 s cache: only the broadcast can make it see the change.
      expect(await listed()).toEqual(round % 2 === 0 ? all : ['chat-model']);
      await gql(a, 'mutation($input: UpdateInferenceConfigInput!) { updateInferenceConfig(input: $input) { inferenceConfig { allowedModels } } }', {
        input: { tenantId, allowedModels: allowed },
      });
      // The message and B's next request race to B (and, on a cluster, across nodes): a moment, not the cache's 5 s.
      const changedAt = Date.now();
      while (JSON.stringify(await listed()) !== JSON.stringify(allowed ?? all)) {
        if (Date.now() - changedAt > 1_000) {
          late.push(`round ${round}: B still had the old settings after 1 s`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    expect(late).toEqual([]);
  });

  it('sees a limit changed on one instance at once on the other', async () => {
    const tenantId = await createTenant('pro');
    const first = await client(b, tenantId).chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('120');
    await setLimits(tenantId, { requestsPerMinute: 7 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await client(b, tenantId).chat.completions.create({ model: 'chat-model', messages }).withResponse();
    expect(second.response.headers.get('x-ratelimit-limit-requests')).toBe('7');
  });

  it("applies a plan changed on one instance to the other's very next request, 100 times in a row, even with its pub/sub lost", async () => {
    // A third instance that hears nothing over pub/sub: only the store's limits version can tell it. Its
    // requests wait for their verdicts: an early answer goes out before its instance could learn anything.
    const deaf = await startTestApp({ ...options, config: { ...options.config, limits: { ...options.config.limits, earlyAnswer: false } } });
    try {
      await deaf.app.deps.broadcast.close();
      const tenantId = await createTenant('pro');
      // Requests per minute stay out of the way (200 requests below); the plan shows in tokens per minute.
      await setLimits(tenantId, { requestsPerMinute: 100_000 });
      const tokensPerMinute: Record<string, string> = { pro: '200000', enterprise: '1000000' };
      const other = client(deaf, tenantId);
      const limitThere = async () =>
        (await other.chat.completions.create({ model: 'chat-model', messages, max_tokens: 5 }).withResponse()).response.headers.get('x-ratelimit-limit-tokens');
      let plan = 'pro';
      const seen: string[] = [];
      const expected: string[] = [];
      for (let round = 0; round < 100; round += 1) {
        // The other instance holds the tenant's limits as they are, fresh in its cache...
        seen.push(`before ${round}: ${await limitThere()}`);
        expected.push(`before ${round}: ${tokensPerMinute[plan]}`);
        plan = plan === 'pro' ? 'enterprise' : 'pro';
        await gql(a, 'mutation($t: ID!, $p: String!) { setTenantPlan(tenantId: $t, plan: $p) { tenant { id } } }', { t: tenantId, p: plan });
        // ...and its next request, sent the moment A answered, is held to the new plan.
        seen.push(`after ${round}: ${await limitThere()}`);
        expected.push(`after ${round}: ${tokensPerMinute[plan]}`);
      }
      expect(seen).toEqual(expected);
    } finally {
      await deaf.stop();
    }
  });

  it("settles a stream's quota before [DONE]: the other instance counts it the moment the client has it", async () => {
    const tenantId = await createTenant('pro');
    const before = await quota(tenantId);
    for (let round = 0; round < 10; round += 1) {
      const stream = await client(a, tenantId).chat.completions.create({ model: 'chat-model', messages, stream: true, stream_options: { include_usage: true } });
      let total = 0;
      for await (const chunk of stream) total += chunk.usage?.total_tokens ?? 0;
      expect(total).toBeGreaterThan(0);
      expect(await quota(tenantId)).toMatchObject({ used: before.used + (round + 1) * total, requests: before.requests + round + 1 });
    }
  });

  it('meters a client retry with the same X-Request-ID once, whichever instance each attempt reaches', async () => {
    const tenantId = await createTenant('pro');
    const requestId = `retry-${randomId(8)}`;
    const attempts = [];
    for (const app of [a, b, a, b]) attempts.push(await client(app, tenantId).chat.completions.create({ model: 'chat-model', messages }, { headers: { 'x-request-id': requestId } }));
    expect(await quota(tenantId)).toMatchObject({ requests: 1, used: attempts[0]!.usage!.total_tokens });
    await Promise.all([a.app.deps.usageMeter.flush(), b.app.deps.usageMeter.flush()]);
    const events = await a.app.deps.usageStore.events({ tenantId, range: null, filter: {}, limit: 100, after: null });
    expect(events.map((event) => [event.requestId, event.status])).toEqual([[requestId, 'ok']]);
  });

  it('overshoots a hard quota by at most the requests in flight when it was reached, alerting once per threshold', async () => {
    const tenantId = await createTenant('free');
    await setLimits(tenantId, { requestsPerMinute: 1_000, tokensPerMinute: 10_000_000, concurrentRequests: 100 });
    // Subscribed on B; the requests that cross the thresholds are served by both.
    const updates: { threshold: number; state: string }[] = [];
    const ws = createClient({ url: `${b.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${testAdminKey}` }, retryAttempts: 0 });
    const stop = ws.subscribe<{ quotaUpdated: { threshold: number; state: string } }>(
      { query: 'subscription($t: ID) { quotaUpdated(tenantId: $t) { threshold state } }', variables: { t: tenantId } },
      { next: (message) => updates.push(message.data!.quotaUpdated), error: () => {}, complete: () => {} },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Close to the edge: three requests of ~30k tokens, through A only.
    for (let i = 0; i < 3; i++) await client(a, tenantId).chat.completions.create({ model: 'big-model', messages });
    const before = await quota(tenantId);
    expect(before.state).toBe('WARNING');
    const limit = before.limit;

    // 50 requests of ~2k tokens each, 300 ms upstream latency, one every 20 ms over both instances.
    const clients = [client(a, tenantId), client(b, tenantId)];
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 20));
        return clients[i % 2]!.chat.completions.create({ model: 'mid-model', messages }).then(
          (completion) => ({ ok: true as const, tokens: completion.usage!.total_tokens }),
          (error: unknown) => ({ ok: false as const, code: ((error as InstanceType<typeof OpenAI.APIError>).error as { code?: string } | undefined)?.code }),
        );
      }),
    );
    const successes = results.filter((r) => r.ok);
    const refused = results.filter((r) => !r.ok);
    expect(refused.map((r) => r.code)).toEqual(refused.map(() => 'quota_exceeded'));
    expect(refused.length).toBeGreaterThan(0);
    const perRequest = successes[0]!.tokens;
    const after = await quota(tenantId);
    // Exact counters: every success counted once, nothing for the refusals.
    expect(after.used).toBe(before.used + successes.length * perRequest);

    // When was the quota reached? When the successes that used up what was left had settled, as the
    // servers saw it: each usage event has its start (ts) and latency, on the same clock for both.
    await Promise.all([a.app.deps.usageMeter.flush(), b.app.deps.usageMeter.flush()]);
    const events = await a.app.deps.usageStore.events({ tenantId, range: null, filter: { models: ['mid-model'] }, limit: 100, after: null });
    const served = events.filter((e) => e.status === 'ok');
    const turnedAway = events.filter((e) => e.status === 'refused');
    expect([served.length, turnedAway.length]).toEqual([successes.length, refused.length]);
    const needed = Math.ceil((limit - before.used) / perRequest);
    const reachedAt = served.map((e) => e.ts.getTime() + e.latencyMs).sort((x, y) => x - y)[needed - 1]!;
    // ts and latency are read a little before admission and after the counters move; a busy machine widens that.
    const slackMs = 100;
    // Everything served was admitted before the quota was reached: it was in flight then...
    expect(served.every((e) => e.ts.getTime() <= reachedAt + slackMs)).toBe(true);
    // ...so the overshoot is those requests' tokens and no more,
    expect(after.used - limit).toBeLessThanOrEqual(served.length * perRequest);
    // and every request decided after that moment was refused.
    expect(turnedAway.every((e) => e.ts.getTime() + e.latencyMs >= reachedAt - slackMs)).toBe(true);

    await expect(client(b, tenantId).chat.completions.create({ model: 'chat-model', messages })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const deadline = Date.now() + 5_000;
    while (updates.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(updates).toEqual([
      { threshold: 80, state: 'WARNING' },
      { threshold: 100, state: 'EXCEEDED' },
    ]);
    stop();
    await ws.dispose();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const mine = hooks.filter((body) => body.includes(tenantId)).map((body) => (JSON.parse(body) as { data: { threshold: number } }).data.threshold);
    expect(mine.sort()).toEqual([100, 80]);

    // Usage events and quota counters agree.
    await Promise.all([a.app.deps.usageMeter.flush(), b.app.deps.usageMeter.flush()]);
    const month = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString();
    const report = await gql<{ tenant: { usage: { totals: { totalTokens: number } } } }>(
      a,
      'query($id: ID!, $r: DateRangeInput!) { tenant(id: $id) { usage(range: $r) { totals { totalTokens } } } }',
      { id: tenantId, r: { from: month, to: new Date(Date.now() + 60_000).toISOString() } },
    );
    expect(report.tenant.usage.totals.totalTokens).toBe(after.used);
  });

  it('remembers a request id the client sent for an hour, and one it minted for ten minutes', async () => {
    const tenantId = await createTenant('pro');
    const sent = await client(a, tenantId).chat.completions.create({ model: 'chat-model', messages }, { headers: { 'x-request-id': 'client-sent-0001' } }).withResponse();
    const minted = await client(a, tenantId).chat.completions.create({ model: 'chat-model', messages }).withResponse();
    const mintedId = minted.response.headers.get('x-request-id')!;
    expect(sent.response.headers.get('x-request-id')).toBe('client-sent-0001');
    expect(mintedId).toMatch(/^req_/);
    const redis = target.client();
    try {
      const ttlOf = (requestId: string) => redis.pttl(`${options.config.limits.keyPrefix as string}rid:{${tenantId}}:${requestId}`);
      // Each is remembered once admitted (and again once settled).
      await expect.poll(() => ttlOf('client-sent-0001')).toBeGreaterThan(3_500_000);
      await expect.poll(() => ttlOf(mintedId)).toBeGreaterThan(500_000);
      expect(await ttlOf(mintedId)).toBeLessThanOrEqual(600_000);
    } finally {
      await redis.quit();
    }
  });

  it("limits the control plane's GraphQL operations per principal on the shared Redis", async () => {
    const tenantId = await createTenant('pro');
    const key = await gql<{ createApiKey: { secret: string } }>(a, 'mutation($t: ID!) { createApiKey(input: { tenantId: $t, name: "dash" }) { secret } }', { t: tenantId });
    a.secrets.add(key.createApiKey.secret);
    b.secrets.add(key.createApiKey.secret);
    const asKey = bearer(key.createApiKey.secret);
    const viewer = '{ viewer { __typename } }';
    for (const app of [a, b, a, b]) expect((await graphqlRequest(app.url, viewer, {}, asKey)).errors).toBeUndefined();
    const refused = await graphqlRequest(b.url, viewer, {}, asKey);
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
    // The platform's admin key is not limited.
    for (let i = 0; i < 6; i++) expect((await graphqlRequest(a.url, viewer, {}, asAdmin())).errors).toBeUndefined();
  });
});
