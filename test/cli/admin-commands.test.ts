import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, graphqlRequest, startTestApp } from '../testkit/app.ts';
import { runCli } from '../testkit/process.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';

describe('tollgate tenant/key help', () => {
  it('explains each command and lists them in the main help', { timeout: 60_000 }, async () => {
    const main = await runCli(['--help']);
    expect(main.stdout).toContain('tenant create|list');
    expect(main.stdout).toContain('key create');
    const topics = [
      [['tenant', '--help'], 'tollgate tenant <create|list|suspend|reactivate>'],
      [['tenant', 'suspend', '--help'], 'tenant_suspended'],
      [['tenant', 'create', '--help'], '--plan PLAN'],
      [['tenant', 'list', '--help'], '--json'],
      [['key', 'create', '--help'], '--scopes a,b'],
      [['help', 'key', 'create'], '--expires ISO'],
    ] as const;
    await Promise.all(
      topics.map(async ([args, expected]) => {
        const result = await runCli([...args]);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(expected);
      }),
    );
  });
});

describe.each(sqlDialects())('tollgate tenant/key on $name', (dialect) => {
  let database: TestSqlDatabase;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await dialect.create();
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-cli-admin-'));
    env = { TOLLGATE_DATA_DIR: dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };
  });
  afterAll(async () => {
    await database?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates and lists tenants, creates a key whose secret then authenticates', { timeout: 120_000 }, async () => {
    const created = await runCli(['tenant', 'create', '--name', 'Acme Corp', '--plan', 'starter'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const tenantId = /created tenant (tnt_[0-9a-z]+) "Acme Corp" on plan starter/.exec(created.stdout)?.[1];
    expect(tenantId).toBeDefined();

    const asJson = await runCli(['tenant', 'create', '--name', 'Globex', '--json'], env);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ name: 'Globex', plan: 'free', status: 'active' });

    const list = await runCli(['tenant', 'list'], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PLAN\s+STATUS\s+CREATED\s+NAME$/);
    expect(lines[1]).toMatch(new RegExp(`^${tenantId}\\s+starter\\s+active\\s+\\S+\\s+Acme Corp$`));
    expect(lines).toHaveLength(3);

    const key = await runCli(['key', 'create', '--tenant', tenantId!, '--name', 'deploy bot', '--scopes', 'inference,admin', '--expires', '2099-01-01T00:00:00Z'], env);
    expect(key.code).toBe(0);
    const output = key.stdout.trim().split('\n');
    expect(output[0]).toMatch(/^created API key tg_[0-9a-z]{8} "deploy bot" for tenant tnt_\S+ \(scopes: inference, admin; expires: 2099-01-01T00:00:00.000Z\)$/);
    const secret = output.at(-1)!;
    expect(secret).toMatch(/^tg_[0-9a-z]{8}_[0-9a-z]{32}$/);
    expect(key.stdout.split(secret)).toHaveLength(2);

    const json = await runCli(['key', 'create', '--tenant', tenantId!, '--name', 'json', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ tenantId, name: 'json', scopes: ['inference', 'usage:read'], expiresAt: null, secret: expect.stringMatching(/^tg_/) });

    // The key works against a gateway on the same database.
    const gateway = await startTestApp({ databaseUrl: database.databaseUrl, config: { storage: { dataDir, embeddedDatabase: 'disk' } } });
    try {
      const viewer = await graphqlRequest<{ viewer: { kind: string; tenantId: string; scopes: string[] } }>(gateway.url, '{ viewer { kind tenantId scopes } }', {}, bearer(secret));
      expect(viewer.data?.viewer).toEqual({ kind: 'API_KEY', tenantId, scopes: ['inference', 'admin'] });
      const audit = await gateway.app.deps.db.db.selectFrom('audit_log').select(['action', 'actor_type', 'actor_id']).where('tenant_id', '=', tenantId!).execute();
      expect(audit).toEqual(expect.arrayContaining([{ action: 'api_key.create', actor_type: 'platform', actor_id: 'cli' }]));
    } finally {
      await gateway.stop();
    }
  });

  it('prints one clear line and exits non-zero on a mistake', { timeout: 120_000 }, async () => {
    type Case = [string[], number, RegExp];
    const check = async ([args, code, message]: Case) => {
      const result = await runCli(args, env);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code, stdout: '' });
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    };
    // Refused before the database opens: these run side by side.
    const early: Case[] = [
      [['tenant', 'create'], 2, /^tollgate tenant create: --name is required \(see tollgate tenant create --help\)\n$/],
      [['tenant', 'create', '--name', 'X', '--colour', 'red'], 2, /^tollgate tenant create: unknown option --colour/],
      [['key', 'create', '--tenant', 'tnt_x', '--name', 'x', '--scopes', 'inference,root'], 1, /unknown scope "root" \(known: inference, usage:read, admin\)\n$/],
      [['key', 'create', '--tenant', 'tnt_x', '--name', 'x', '--expires', 'next week'], 2, /--expires must be an ISO 8601 date/],
      [['key', 'create', '--tenant', 'tnt_x', '--name', 'x', '--expires', '2001-01-01T00:00:00Z'], 2, /--expires must be in the future/],
      [['key', 'destroy'], 2, /unknown command "key destroy"/],
    ];
    await Promise.all(early.map(check));
    // Refused by the services: one at a time, as an embedded database has one user.
    await check([['tenant', 'create', '--name', 'X', '--plan', 'platinum'], 1, /^tollgate tenant create: unknown plan "platinum"\n$/]);
    await check([['key', 'create', '--tenant', 'tnt_missing', '--name', 'x'], 1, /^tollgate key create: tenant "tnt_missing" was not found\n$/]);
  });

  it('creates, lists, reprices and retires plans, naming the field of a bad value', { timeout: 120_000 }, async () => {
    const created = await runCli(
      ['plan', 'create', '--id', 'team', '--name', 'Team', '--currency', 'GBP', '--monthly-price', '79.00', '--hard-quota', 'false',
        '--monthly-tokens', '10000000', '--requests-per-minute', '90', '--tokens-per-minute', 'none', '--overage-tiers', '10000000:7.00,rest:5.50', '--json'],
      env,
    );
    expect(created.stderr).toBe('');
    expect(JSON.parse(created.stdout)).toMatchObject({
      id: 'team',
      currency: 'GBP',
      monthlyPrice: '79.00',
      monthlyTokens: 10_000_000,
      requestsPerMinute: 90,
      tokensPerMinute: null,
      hardQuota: false,
      overageTiers: [{ upToTokens: 10_000_000, perMillion: '7.00' }, { upToTokens: null, perMillion: '5.50' }],
      retiredAt: null,
    });

    const later = await runCli(['plan', 'update', '--id', 'team', '--monthly-price', '89.00', '--price-effective-from', '2099-01-01T00:00:00Z', '--requests-per-hour', '5000'], env);
    expect([later.code, later.stdout.trim()]).toEqual([0, 'updated plan team "Team"']);
    const listed = JSON.parse((await runCli(['plan', 'list', '--json'], env)).stdout) as { id: string; monthlyPrice: string; requestsPerHour: number | null }[];
    // The 2099 price is scheduled, not in force; the hourly cap is.
    expect(listed.find((p) => p.id === 'team')).toMatchObject({ monthlyPrice: '79.00', requestsPerHour: 5_000 });

    const bad = await runCli(['plan', 'update', '--id', 'team', '--overage-tiers', '5:1.00,2:2.00,rest:1.00'], env);
    expect([bad.code, bad.stderr]).toEqual([1, 'tollgate plan update: overageTiers[1].upToTokens must be a whole number above the previous tier\'s (5) and at most 2000000000\n']);
    const badCap = await runCli(['plan', 'update', '--id', 'team', '--requests-per-minute', 'lots'], env);
    expect([badCap.code, badCap.stderr]).toMatchObject([2, expect.stringContaining('--requests-per-minute must be a whole number or "none"')]);

    const retired = await runCli(['plan', 'retire', '--id', 'team'], env);
    expect(retired.stdout.trim()).toBe('retired plan team "Team"; its tenants keep it until they move');
    const table = (await runCli(['plan', 'list'], env)).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^ID\s+PRICE\s+TOKENS\/MONTH\s+RPM\s+TPM\s+QUOTA\s+RETIRED\s+NAME$/);
    expect(table.map((line) => line.split(/\s+/)[0])).toEqual(['ID', 'free', 'starter', 'pro', 'enterprise']);
    expect((await runCli(['plan', 'list', '--all'], env)).stdout).toMatch(/^team\s+GBP 79.00\s+10000000\s+90\s+none\s+soft\s+\S+Z\s+Team$/m);
    const refused = await runCli(['tenant', 'create', '--name', 'Late', '--plan', 'team'], env);
    expect([refused.code, refused.stderr]).toEqual([1, 'tollgate tenant create: plan "team" is retired: it keeps its tenants but takes no new ones\n']);
  });
});
