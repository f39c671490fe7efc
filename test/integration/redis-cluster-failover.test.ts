import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/shared/ids.ts';
import { asAdmin, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

// A master of the Redis Cluster is killed mid-traffic and its replica takes over. The test runs on a
// cluster of its own (scripts/services.sh on other ports): the shared one serves other files meanwhile.

const run = promisify(execFile);
const firstPort = 7101;
const stateDir = process.env.TOLLGATE_SERVICES_DIR ?? '/tmp/tollgate-services';
const clusterServices = (command: string) =>
  run('bash', ['scripts/services.sh', command, 'redis-cluster'], { env: { ...process.env, REDIS_CLUSTER_PORT: String(firstPort) }, timeout: 120_000 });
const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');

interface Outcome {
  ok: boolean;
  tokens: number;
  error?: string;
}

interface ClusterNode {
  port: number;
  master: boolean;
  failed: boolean;
  slots: [number, number][];
}

describe.runIf(serviceUrl('REDIS_CLUSTER') && postgres)('Redis Cluster failover: a master killed, its replica promoted', () => {
  let upstream: FakeUpstream;
  let database: TestSqlDatabase;
  let a: TestApp;
  let b: TestApp;
  let admin: Redis;
  const messages = [{ role: 'user' as const, content: 'Through a failover' }];

  /** The cluster as one node sees it (CLUSTER NODES). */
  const nodes = async (): Promise<ClusterNode[]> =>
    ((await admin.cluster('NODES')) as string)
      .trim()
      .split('\n')
      .map((line) => {
        const [, address, flags, , , , , , ...slots] = line.split(' ');
        return {
          port: Number(/:(\d+)@/.exec(address!)![1]),
          master: flags!.includes('master'),
          failed: flags!.includes('fail'),
          slots: slots.filter((range) => /^\d/.test(range)).map((range) => {
            const [from, to = from] = range.split('-').map(Number);
            return [from!, to!] as [number, number];
          }),
        };
      });
  const masterOf = async (tenantId: string) => {
    const slot = (await admin.cluster('KEYSLOT', `{${tenantId}}`)) as number;
    return (await nodes()).find((node) => node.master && !node.failed && node.slots.some(([from, to]) => slot >= from && slot <= to));
  };
  const gql = async <T,>(query: string, variables: Record<string, unknown> = {}) => {
    const result = await graphqlRequest<T>(a.url, query, variables, asAdmin());
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data as T;
  };
  const createTenant = async (plan: string) =>
    (await gql<{ createTenant: { tenant: { id: string } } }>('mutation($p: String) { createTenant(input: { name: "Failover", plan: $p }) { tenant { id } } }', { p: plan }))
      .createTenant.tenant.id;
  const client = (app: TestApp, tenantId: string) =>
    new OpenAI({ baseURL: `${app.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
  const complete = (app: TestApp, tenantId: string): Promise<Outcome> =>
    client(app, tenantId).chat.completions.create({ model: 'chat-model', messages }).then(
      (completion) => ({ ok: true, tokens: completion.usage!.total_tokens }),
      (error: unknown) => ({ ok: false, tokens: 0, error: error instanceof OpenAI.APIError ? `${error.status}:${(error.error as { code?: string }).code}` : String(error) }),
    );
  const quota = async (tenantId: string) =>
    (await gql<{ tenant: { quota: { used: number; requests: number } } }>('query($id: ID!) { tenant(id: $id) { quota { used requests } } }', { id: tenantId })).tenant.quota;
  const failedOpen = async (app: TestApp) => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    return Number(/^tollgate_limit_store_failures_total\{operation="admit",handling="fail_open"\} (\S+)$/m.exec(text)?.[1] ?? 0);
  };
  const usageEvents = async (tenantId: string) => {
    await Promise.all([a.app.deps.usageMeter.flush(), b.app.deps.usageMeter.flush()]);
    return a.app.deps.usageStore.events({ tenantId, range: null, filter: {}, limit: 1_000, after: null });
  };

  beforeAll(async () => {
    await clusterServices('start-one');
    admin = new Redis({ host: '127.0.0.1', port: firstPort });
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    database = await postgres!.create();
    const options = {
      databaseUrl: database.databaseUrl,
      redisUrl: `redis+cluster://127.0.0.1:${firstPort},127.0.0.1:${firstPort + 1},127.0.0.1:${firstPort + 2}`,
      inference: {
        providers: [{ name: 'gpu', type: 'openai' as const, baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat' as const, deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }] }],
      },
      config: { limits: { keyPrefix: `test:failover:${randomId(8)}:` } },
    };
    a = await startTestApp(options);
    b = await startTestApp(options);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.dispose();
    await upstream?.close();
    await admin?.quit();
    await clusterServices('stop-one');
  });

  it('loses and doubles no usage, and limits are exact again once the replica has taken over', async () => {
    const tenantId = await createTenant('starter');
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 10; i++) outcomes.push(await complete(i % 2 ? a : b, tenantId));
    expect(outcomes.every((o) => o.ok)).toBe(true);

    // A crash, not a shutdown: SIGKILL the master that holds the tenant's slot, between two requests.
    const victim = (await masterOf(tenantId))!;
    const survivor = (await nodes()).find((node) => node.master && node.port !== victim.port)!;
    await admin.quit();
    admin = new Redis({ host: '127.0.0.1', port: survivor.port });
    const pid = Number(await readFile(`${stateDir}/redis-cluster/${victim.port}/redis.pid`, 'utf8'));
    process.kill(pid, 'SIGKILL');
    // Requests go on while the cluster notices and promotes the replica (a second or two).
    let promoted: ClusterNode | undefined;
    while (!promoted) {
      outcomes.push(await complete(outcomes.length % 2 ? a : b, tenantId));
      const master = await masterOf(tenantId);
      if (master && master.port !== victim.port) promoted = master;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const duringFailover = outcomes.length - 10;
    for (let i = 0; i < 10; i++) outcomes.push(await complete(i % 2 ? a : b, tenantId));
    expect(outcomes.slice(-10).every((o) => o.ok)).toBe(true);

    // The starter plan bills overage, so its rate limits failed open: every request was served...
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    const tokens = outcomes.reduce((sum, o) => sum + o.tokens, 0);
    // ...each has one usage event, whichever instance served it and whatever Redis was doing...
    const events = await usageEvents(tenantId);
    expect(events).toHaveLength(outcomes.length);
    expect(new Set(events.map((event) => event.requestId)).size).toBe(outcomes.length);
    expect(events.reduce((sum, event) => sum + event.totalTokens, 0)).toBe(tokens);
    // ...and the quota counters in Redis count each once: the settlements that failed were retried
    // until the new master took them, those repeated count once, and a request served while the
    // limits failed open (no admission reached Redis) is counted by its settlement.
    await expect.poll(() => quota(tenantId), { timeout: 10_000, interval: 200 }).toEqual({ used: tokens, requests: outcomes.length });
    expect(duringFailover).toBeGreaterThan(0);
    expect((await failedOpen(a)) + (await failedOpen(b))).toBeGreaterThan(0);

    // Limits are exact again: a fresh tenant on the promoted master gets 60 of 100 at 60 rpm.
    let fresh = await createTenant('starter');
    while ((await masterOf(fresh))?.port !== promoted.port) fresh = await createTenant('starter');
    await gql('mutation($t: ID!) { setTenantLimits(tenantId: $t, limits: { concurrentRequests: 500 }) { tenant { id } } }', { t: fresh });
    const burst = await Promise.all(Array.from({ length: 100 }, (_, i) => complete(i % 2 ? a : b, fresh)));
    expect(burst.filter((o) => o.ok)).toHaveLength(60);
    expect(burst.filter((o) => !o.ok).map((o) => o.error)).toEqual(Array.from({ length: 40 }, () => '429:rate_limited'));

    // The killed node comes back as the new master's replica.
    await clusterServices('start-one');
    const back = (await nodes()).find((node) => node.port === victim.port)!;
    expect([back.master, back.failed]).toEqual([false, false]);
  });
});
