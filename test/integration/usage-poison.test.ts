import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CreateApiKeyDocument, CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { newUsageEvent, usageEventToJson, type UsageEvent } from '../../src/modules/usage/usage-event.ts';
import { adminClient, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { createClickhouseDatabase } from '../testkit/clickhouse-databases.ts';
import { startFakeUpstream } from '../testkit/fake-upstream.ts';
import { runCli } from '../testkit/process.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects } from '../testkit/sql-databases.ts';

// One tenant's request with a value no store can hold must not stop metering for everyone. Seen before:
// "acc\0poison" was answered 404, its event failed every batch it was in, and no usage was stored again,
// even after a restart. Now the request is refused at the edge, and an event that gets past it anyway
// (or sits in a spool written before the upgrade) is set aside as a dead letter while the rest flows.

interface Backend {
  name: string;
  /** DATABASE_URL and CLICKHOUSE_URL for the app and the CLI; the embedded database lives on disk. */
  start(): Promise<{ databaseUrl?: string; clickhouseUrl?: string; dispose(): Promise<void> }>;
}

const clickhouseUrl = serviceUrl('CLICKHOUSE');
const backends: Backend[] = sqlDialects().map((dialect) => ({
  name: dialect.name,
  start: async () => {
    const database = await dialect.create();
    return { databaseUrl: database.databaseUrl, dispose: database.dispose };
  },
}));
if (clickhouseUrl) {
  backends.push({
    name: 'clickhouse',
    start: async () => {
      const database = await createClickhouseDatabase(clickhouseUrl, { migrate: false });
      return { clickhouseUrl: database.url, dispose: database.dispose };
    },
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

// A NUL byte stops Postgres, a lone surrogate stops both Postgres and ClickHouse.
const poison = { requestedModel: 'acc\u0000poison', userId: 'user-\ud800' };

describe.each(backends)('a poisoned usage event on $name', (backend) => {
  it('refuses the poisoned request, sets poisoned events aside, and stores the next 100 requests of two tenants', { timeout: 240_000 }, async () => {
    const services = await backend.start();
    cleanups.push(services.dispose);
    const upstream = await startFakeUpstream({ behaviour: { tokens: 2 } });
    cleanups.push(upstream.close);
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-poison-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));

    // A spool left by the previous version, holding a poisoned event between two good ones.
    const spooled = [newEvent('tnt_before', 'req-before-1', {}), newEvent('tnt_before', 'req-before-poisoned', poison), newEvent('tnt_before', 'req-before-2', {})];
    mkdirSync(join(dataDir, 'spool', 'usage'), { recursive: true });
    writeFileSync(join(dataDir, 'spool', 'usage', '000000000001-abcdef.ndjson'), `${spooled.map(usageEventToJson).join('\n')}\n`);

    const env = { TOLLGATE_DATA_DIR: dataDir, ...(services.databaseUrl ? { DATABASE_URL: services.databaseUrl } : {}), ...(services.clickhouseUrl ? { CLICKHOUSE_URL: services.clickhouseUrl } : {}) };
    const gateway: TestApp = await startTestApp({
      databaseUrl: services.databaseUrl,
      clickhouseUrl: services.clickhouseUrl,
      config: { storage: { dataDir, embeddedDatabase: 'disk' }, usage: { flushIntervalMs: 20, insertIntervalMs: 0, batchSize: 50 } },
      inference: {
        providers: [{ name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [{ name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }] }],
      },
    });
    cleanups.push(gateway.stop);

    const admin = adminClient(gateway.url);
    const tenant = async (name: string) => (await admin.execute(CreateTenantDocument, { input: { name, plan: 'enterprise' } })).createTenant.tenant.id;
    const [attacker, tenantA, tenantB] = [await tenant('Attacker'), await tenant('Tenant A'), await tenant('Tenant B')];
    const attackerKey = (await admin.execute(CreateApiKeyDocument, { input: { tenantId: attacker, name: 'inference', scopes: ['INFERENCE'] } })).createApiKey.secret;
    gateway.secrets.add(attackerKey);

    // The request itself: refused with a 400 naming the field, before anything is recorded.
    const hostile = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: attackerKey, maxRetries: 0 });
    const refusal = await hostile.chat.completions.create({ model: poison.requestedModel, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refusal as InstanceType<typeof OpenAI.BadRequestError>).type).toBe('invalid_request_error');
    expect((refusal as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('model');
    expect((refusal as Error).message).toContain('model: contains a NUL byte');

    // An event that gets past the edge anyway (recorded as the completion service records its own).
    const live = newEvent(attacker, 'req-live-poisoned', poison);
    gateway.app.deps.usageMeter.record(live);

    const requestIds: Record<string, string[]> = { [tenantA]: [], [tenantB]: [] };
    for (let i = 0; i < 100; i += 1) {
      const tenantId = i % 2 === 0 ? tenantA : tenantB;
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: testAdminKey, defaultHeaders: { 'x-tenant-id': tenantId }, maxRetries: 0 });
      const { response } = await client.chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: `request ${i}` }] }).withResponse();
      requestIds[tenantId]!.push(response.headers.get('x-request-id')!);
    }
    await gateway.app.deps.usageMeter.flush({ timeoutMs: 60_000 });

    const store = gateway.app.deps.usageStore;
    const stored = async (tenantId: string) =>
      (await store.events({ tenantId, range: null, filter: {}, limit: 1_000, after: null })).map((e) => e.requestId).sort();
    expect(await stored(tenantA)).toEqual([...requestIds[tenantA]!].sort());
    expect(await stored(tenantB)).toEqual([...requestIds[tenantB]!].sort());
    expect(await stored('tnt_before')).toEqual(['req-before-1', 'req-before-2']);
    expect(await stored(attacker)).toEqual([]);
    expect(gateway.app.deps.usageMeter.stats()).toMatchObject({ deadLettered: 2, spooled: 0, segments: 0, consecutiveFailures: 0 });
    expect(readdirSync(join(dataDir, 'spool', 'usage')).filter((name) => name.endsWith('.ndjson'))).toEqual([]);

    const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { usage: { deadLettered: number } };
    expect(ready.usage.deadLettered).toBe(2);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^tollgate_usage_events_dead_lettered_total 2$/m);
    expect(gateway.logs.filter((line) => line.includes('kept as a dead letter'))).toHaveLength(2);

    // The embedded database takes one process at a time: the CLI runs once the gateway has stopped.
    await gateway.stop();
    const listed = await runCli(['usage', 'dead-letters', 'list'], env, 60_000);
    expect(listed.code).toBe(0);
    for (const event of [spooled[1]!, live]) expect(listed.stdout).toContain(event.eventId);
    expect(listed.stdout).toContain('model "acc\\u0000poison"');
    expect(listed.stdout).toContain('2 dead letter(s) waiting for a replay');

    // The cause is not fixed: a replay is refused again, says so, and the letters stay listed.
    const replay = await runCli(['usage', 'dead-letters', 'replay', '--id', live.eventId], env, 60_000);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain(`${live.eventId} refused again`);
    const after = await runCli(['usage', 'dead-letters', 'list', '--json'], env, 60_000);
    const letters = after.stdout.trim().split('\n').map((line) => JSON.parse(line) as { eventId: string; failures: number; event: UsageEvent });
    expect(letters.map((l) => [l.eventId, l.failures]).sort()).toEqual([[spooled[1]!.eventId, 1], [live.eventId, 2]].sort());
    expect(letters.find((l) => l.eventId === live.eventId)!.event.requestedModel).toBe(poison.requestedModel);
  });
});

function newEvent(tenantId: string, requestId: string, overrides: Partial<UsageEvent>): UsageEvent {
  return newUsageEvent({ requestId, tenantId, requestedModel: 'chat-model', kind: 'chat', node: 'test', promptTokens: 3, completionTokens: 2, ...overrides });
}
