import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, sqlDialects } from '../../../test/testkit/sql-databases.ts';
import type { SqlDatabaseHandle } from '../../storage/sql-database.ts';
import type { Principal } from '../identity/principal.ts';
import { effectiveLimits } from '../limits/limits-directory.ts';
import { loadLimitsRecord } from '../limits/limits.repository.ts';
import { TenantService } from '../tenant/tenant.service.ts';
import { findPlanPrices } from './plan.repository.ts';
import { PlanService, type CreatePlanInput } from './plan.service.ts';

const platform = { principal: { kind: 'platform', tenantId: undefined, userId: undefined } satisfies Principal, requestId: 'req-1' };
const member = { principal: { kind: 'user', tenantId: 't-x', userId: 'u1', role: 'admin', expiresAt: undefined } satisfies Principal, requestId: 'req-2' };

const team: CreatePlanInput = {
  id: 'team',
  name: 'Team',
  currency: 'GBP',
  monthlyPrice: '79.00',
  monthlyTokens: 10_000_000,
  requestsPerMinute: 90,
  tokensPerMinute: 150_000,
  hardQuota: false,
  overageTiers: [
    { upToTokens: 10_000_000, perMillion: '7.00' },
    { upToTokens: null, perMillion: '5.50' },
  ],
};

describe.each(sqlDialects())('plans as data over $name', (dialect) => {
  let handle: SqlDatabaseHandle;
  let dispose: () => Promise<void>;
  let now = Date.UTC(2026, 10, 10, 12);
  const changed: string[] = [];
  let plans: PlanService;
  let tenants: TenantService;

  beforeAll(async () => {
    ({ handle, dispose } = await openMigrated(dialect));
    plans = new PlanService(handle.db, (id) => changed.push(id), () => now);
    tenants = new TenantService(handle.db);
  });
  afterAll(async () => {
    await dispose();
  });

  const priceVersions = async (id: string) =>
    (await findPlanPrices(handle.db, [id])).map((v) => ({ from: v.effective_from.toISOString(), currency: v.currency, monthlyPrice: v.monthly_price, tiers: v.overage_tiers }));

  it("offers the seeds' tiers on a fresh install, cheapest first, each priced since always", async () => {
    const offered = await plans.list(platform.principal);
    expect(offered.map((p) => [p.id, p.monthly_tokens, p.requests_per_minute, p.requests_per_hour, p.requests_per_month, p.hard_quota])).toEqual([
      ['free', 100_000, 10, 100, 3_000, true],
      ['starter', 5_000_000, 60, null, null, false],
      ['pro', 25_000_000, 120, null, null, false],
      ['enterprise', 100_000_000, 300, null, null, false],
    ]);
    expect(await priceVersions('starter')).toEqual([{ from: '1970-01-01T00:00:00.000Z', currency: 'GBP', monthlyPrice: '39.00', tiers: [{ upToTokens: null, perMillion: '8.00' }] }]);
    expect((await priceVersions('enterprise'))[0]).toMatchObject({ monthlyPrice: '499.00', tiers: [{ upToTokens: null, perMillion: '5.00' }] });
  });

  it('creates a plan with volume tiers, audited, and refuses a second one with the same id', async () => {
    const plan = await plans.create(platform, team);
    expect(plan).toMatchObject({ id: 'team', name: 'Team', monthly_tokens: 10_000_000, requests_per_minute: 90, tokens_per_minute: 150_000, requests_per_hour: null, hard_quota: false, retired_at: null });
    expect(await priceVersions('team')).toEqual([{ from: '1970-01-01T00:00:00.000Z', currency: 'GBP', monthlyPrice: '79.00', tiers: team.overageTiers }]);
    const audit = await handle.db.selectFrom('audit_log').select(['action', 'target']).where('target', '=', 'team').execute();
    expect(audit).toEqual([{ action: 'plan.create', target: 'team' }]);
    await expect(plans.create(platform, team)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'id' } });
    await expect(plans.create(member, { ...team, id: 'team-2' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('names the field of every invalid value', async () => {
    const cases: [Partial<CreatePlanInput>, string][] = [
      [{ id: 'Team X' }, 'id'],
      [{ name: ' ' }, 'name'],
      [{ currency: 'pounds' }, 'currency'],
      [{ monthlyPrice: '39.999' }, 'monthlyPrice'],
      [{ monthlyPrice: '-1' }, 'monthlyPrice'],
      [{ monthlyTokens: 0 }, 'monthlyTokens'],
      [{ requestsPerMinute: 1.5 }, 'requestsPerMinute'],
      [{ tokensPerMinute: -5 }, 'tokensPerMinute'],
      [{ concurrentRequests: 3_000_000_000 }, 'concurrentRequests'],
      [{ hardQuota: true, monthlyTokens: null }, 'hardQuota'],
      [{ hardQuota: null }, 'hardQuota'],
      [{ overagePerMillion: '1.0000001', overageTiers: null }, 'overagePerMillion'],
      [{ overagePerMillion: '1.00' }, 'overageTiers'],
      [{ overageTiers: [] }, 'overageTiers'],
      [{ overageTiers: [{ upToTokens: null, perMillion: '1' }, { upToTokens: null, perMillion: '2' }] }, 'overageTiers[0].upToTokens'],
      [{ overageTiers: [{ upToTokens: 10, perMillion: '1' }, { upToTokens: 10, perMillion: '2' }, { upToTokens: null, perMillion: '2' }] }, 'overageTiers[1].upToTokens'],
      [{ overageTiers: [{ upToTokens: 10, perMillion: '1' }] }, 'overageTiers[0].upToTokens'],
      [{ overageTiers: [{ upToTokens: 10, perMillion: '1' }, { upToTokens: null, perMillion: 'two' }] }, 'overageTiers[1].perMillion'],
    ];
    for (const [change, field] of cases) {
      await expect(plans.create(platform, { ...team, id: 'bad', ...change }), JSON.stringify(change)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field } });
      await expect(plans.create(platform, { ...team, id: 'bad', ...change })).rejects.toThrow(field.replace(/\[.*$/, ''));
    }
    await expect(plans.update(platform, { id: 'team', priceEffectiveFrom: new Date(now - 1), monthlyPrice: '1.00' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'priceEffectiveFrom' } });
    await expect(plans.update(platform, { id: 'nope', name: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await plans.list(platform.principal)).map((p) => p.id)).not.toContain('bad');
  });

  it('expresses an unlimited plan: no caps at all, so no limit is checked on admission', async () => {
    const plan = await plans.create(platform, { id: 'unlimited', name: 'Unlimited', currency: 'GBP', monthlyPrice: '2000.00', hardQuota: false });
    expect(plan).toMatchObject({ monthly_tokens: null, requests_per_minute: null, tokens_per_minute: null, requests_per_hour: null, requests_per_month: null, concurrent_requests: null });
    await tenants.create(platform, { name: 'Big', plan: 'unlimited' });
    const [tenant] = await handle.db.selectFrom('tenant').select('id').where('plan_id', '=', 'unlimited').execute();
    const limits = effectiveLimits((await loadLimitsRecord(handle.db, tenant!.id, null))!, null, 60_000);
    expect(limits).toMatchObject({ requestsPerMinute: null, tokensPerMinute: null, monthlyTokens: null, specs: [] });
  });

  it('applies limit edits at once and makes a price edit a new version from its effective time', async () => {
    changed.length = 0;
    const updated = await plans.update(platform, { id: 'team', requestsPerMinute: 100, requestsPerHour: 2_000 });
    expect(updated).toMatchObject({ requests_per_minute: 100, requests_per_hour: 2_000 });
    expect(changed).toEqual(['team']);
    expect(await priceVersions('team')).toHaveLength(1);

    // Now: a new monthly price; the tiers carry over from the version it follows.
    await plans.update(platform, { id: 'team', monthlyPrice: '85.00' });
    // Later: a new overage rate; the monthly price carries over from the version in force then.
    const december = new Date(Date.UTC(2026, 11, 1));
    await plans.update(platform, { id: 'team', overagePerMillion: '6.00', priceEffectiveFrom: december });
    expect(await priceVersions('team')).toEqual([
      { from: '1970-01-01T00:00:00.000Z', currency: 'GBP', monthlyPrice: '79.00', tiers: team.overageTiers },
      { from: new Date(now).toISOString(), currency: 'GBP', monthlyPrice: '85.00', tiers: team.overageTiers },
      { from: december.toISOString(), currency: 'GBP', monthlyPrice: '85.00', tiers: [{ upToTokens: null, perMillion: '6.00' }] },
    ]);
    // Rescheduling the same instant replaces the version that has not taken effect yet.
    await plans.update(platform, { id: 'team', overagePerMillion: '6.50', priceEffectiveFrom: december });
    expect((await priceVersions('team'))[2]).toMatchObject({ tiers: [{ upToTokens: null, perMillion: '6.50' }] });
    // A price edit alone does not touch anyone's limits.
    expect(changed).toEqual(['team']);
  });

  it('retires a plan: not offered, kept by its tenants, refused to new ones', async () => {
    const kept = await tenants.create(platform, { name: 'Keeps', plan: 'team' });
    const mover = await tenants.create(platform, { name: 'Mover', plan: 'free' });
    now += 1_000;
    const retired = await plans.retire(platform, 'team');
    expect(retired.retired_at).toEqual(new Date(now));
    expect((await plans.retire(platform, 'team')).retired_at).toEqual(new Date(now));
    expect((await plans.list(platform.principal)).map((p) => p.id)).not.toContain('team');
    expect((await plans.list(platform.principal, { includeRetired: true })).map((p) => p.id)).toContain('team');
    await expect(plans.list(member.principal, { includeRetired: true })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(plans.retire(member, 'free')).rejects.toMatchObject({ code: 'FORBIDDEN' });

    expect((await tenants.setPlan(platform, kept.id, 'team')).plan_id).toBe('team');
    await expect(tenants.create(platform, { name: 'New', plan: 'team' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'plan' } });
    await expect(tenants.setPlan(platform, mover.id, 'team')).rejects.toThrow(/retired/);
    // A retired plan can still be edited for the tenants that keep it.
    expect((await plans.update(platform, { id: 'team', name: 'Team (legacy)' })).name).toBe('Team (legacy)');
  });
});
