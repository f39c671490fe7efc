import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/shared/ids.ts';
import { asAdmin, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { createClickhouseDatabase, type TestClickhouseDatabase } from '../testkit/clickhouse-databases.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { serviceUrl } from '../testkit/services.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';
import { fixtures, matrix, viewpoints, type Viewpoint } from './matrix.ts';
import { describeFailure, jwtSecret, madeUpTenant, runCell, seedTenant, type SeededTenant, type WalkContext } from './walk.ts';

// Walks the authorization matrix (matrix.ts) with real requests against a real app: every operation and
// /v1 route as every point of view, first on tenant A's objects, then on tenant B's with the roles
// swapped. Each cell must give the listed outcome, and no answer may carry the target tenant's data to
// a caller who may not read it.

const postgres = sqlDialects().find((dialect) => dialect.name === 'postgres');
const redisUrl = serviceUrl('REDIS');
const clickhouseUrl = serviceUrl('CLICKHOUSE');

interface Stack {
  name: string;
  skip: boolean;
  start(): Promise<{ databaseUrl?: string; redisUrl?: string; clickhouseUrl?: string; dispose(): Promise<void> }>;
}

const stacks: Stack[] = [
  { name: 'embedded storage', skip: false, start: async () => ({ dispose: async () => {} }) },
  {
    name: 'Postgres, Redis and ClickHouse',
    skip: !postgres || !redisUrl || !clickhouseUrl,
    start: async () => {
      const database: TestSqlDatabase = await postgres!.create();
      const clickhouse: TestClickhouseDatabase = await createClickhouseDatabase(clickhouseUrl!);
      return {
        databaseUrl: database.databaseUrl,
        redisUrl,
        clickhouseUrl: clickhouse.url,
        dispose: async () => {
          await clickhouse.dispose();
          await database.dispose();
        },
      };
    },
  },
];

describe.each(stacks)('authorization matrix on $name', (stack) => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let dispose: () => Promise<void> = async () => {};
  let tenantA: SeededTenant;
  let tenantB: SeededTenant;

  const quotaUpdate = async (tenantId: string) => {
    const { limits, quota } = gateway.app.deps.services;
    quota.alert(await limits.limits(tenantId), quota.currentPeriod(), { seeded: true, tokens: 1, requests: 1 }, [80]);
  };

  const budgetAlert = async (tenantId: string) => {
    const period = gateway.app.deps.services.quota.currentPeriod();
    gateway.app.deps.services.budgets.alert({ tenantId, apiKeyId: null, period, currency: 'GBP', limitMicros: 10_000_000, spentMicros: 8_000_000, alertThresholds: [80], hardStop: false, threshold: 80 });
  };

  const walk = async (own: SeededTenant, other: SeededTenant, target: string) => {
    const ctx: WalkContext = { app: gateway, own, other, quotaUpdate, budgetAlert };
    const failures: string[] = [];
    let cells = 0;
    for (const row of matrix) {
      for (const viewpoint of Object.keys(viewpoints) as Viewpoint[]) {
        const failure = describeFailure(await runCell(ctx, row, viewpoint), target);
        cells += 1;
        if (failure) failures.push(failure);
      }
    }
    expect(cells).toBe(matrix.length * Object.keys(viewpoints).length);
    expect(failures, `${failures.length} of ${cells} cells differ from the matrix:\n${failures.join('\n')}`).toEqual([]);
  };

  beforeAll(async () => {
    if (stack.skip) return;
    upstream = await startFakeUpstream({ behaviour: { tokens: 3 } });
    const storage = await stack.start();
    dispose = storage.dispose;
    gateway = await startTestApp({
      databaseUrl: storage.databaseUrl,
      redisUrl: storage.redisUrl,
      clickhouseUrl: storage.clickhouseUrl,
      config: { auth: { jwtSecret }, limits: { keyPrefix: `test:matrix:${randomId(8)}:` } },
      inference: {
        providers: [
          { name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl },
          { name: 'local', type: 'ollama', baseUrl: upstream.url },
        ],
        models: [
          { name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu-a', model: 'upstream-chat', weight: 1 }], price: { inputPerMillion: '3.00', outputPerMillion: '6.00', currency: 'USD' } },
          { name: 'embed-model', kind: 'embedding', deployments: [{ provider: 'local', model: 'nomic-embed-text', weight: 1 }] },
        ],
      },
    });
    tenantA = await seedTenant(gateway, 'Acme');
    tenantB = await seedTenant(gateway, 'Globex');
    // retirePlan's target (retiring twice is allowed, so every allowed caller retires it).
    const plan = await graphqlRequest(gateway.url, 'mutation { createPlan(input: { id: "matrix-retired", name: "Retired by the matrix", currency: "GBP", monthlyPrice: "1.00", hardQuota: false }) { plan { id } } }', {}, asAdmin());
    expect(plan.errors).toBeUndefined();
    // The platform template the run rows name.
    const template = await graphqlRequest(gateway.url, 'mutation($name: String!) { savePromptTemplate(input: { name: $name, user: "Who may call this, {{who}}?", model: "chat-model", parameters: { max_tokens: 4 } }) { template { id } } }', { name: fixtures.templateName }, asAdmin());
    expect(template.errors).toBeUndefined();
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await dispose();
  });

  it.skipIf(stack.skip)("gives every point of view the listed outcome on tenant A's objects, and tenant B nothing of A", async () => {
    await walk(tenantA, tenantB, 'tenant A');
  }, 120_000);

  it.skipIf(stack.skip)("gives tenant A's credentials NOT_FOUND and nothing on tenant B's objects (the matrix with A and B swapped)", async () => {
    await walk(tenantB, tenantA, 'tenant B');
  }, 120_000);

  it.skipIf(stack.skip)("answers anonymous and tenant B's principals the same for made-up ids as for tenant A's objects", async () => {
    // Another tenant's object must be indistinguishable from one that does not exist, or ids could be probed.
    const ctx: WalkContext = { app: gateway, own: madeUpTenant(), other: tenantB, quotaUpdate, budgetAlert };
    const failures: string[] = [];
    for (const row of matrix) {
      for (const viewpoint of ['anonymous', 'tenantBKey', 'tenantBAdmin'] as const) {
        const failure = describeFailure(await runCell(ctx, row, viewpoint), 'a made-up tenant');
        if (failure) failures.push(failure);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it.skipIf(stack.skip)("left no change by one tenant's principals in the other's audit log", async () => {
    for (const [target, other] of [
      [tenantA, tenantB],
      [tenantB, tenantA],
    ] as const) {
      const log = await graphqlRequest<{ auditLog: { edges: { node: { actorId: string; action: string } }[] } }>(
        gateway.url,
        'query($t: ID) { auditLog(tenantId: $t, first: 100) { edges { node { actorId action } } } }',
        { t: target.tenantId },
        asAdmin(),
      );
      expect(log.errors).toBeUndefined();
      const actors = new Set(log.data!.auditLog.edges.map((edge) => edge.node.actorId));
      // The walk's allowed changes were made: the log is not empty by accident.
      expect(actors).toContain(target.adminUserId);
      for (const foreign of [other.apiKeyId, other.adminUserId, other.memberUserId]) expect(actors).not.toContain(foreign);
    }
  });
});
