import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickhouseDatabase } from '../../../test/testkit/clickhouse-databases.ts';
import { serviceUrl } from '../../../test/testkit/services.ts';
import { openMigrated, sqlDialects, type SqlDialectUnderTest } from '../../../test/testkit/sql-databases.ts';
import { configSchema, type ModelConfig } from '../../config.ts';
import type { SqlDatabaseHandle } from '../../storage/sql-database.ts';
import type { Principal } from '../identity/principal.ts';
import { PlanService } from '../plan/plan.service.ts';
import { PriceBook } from '../pricing/price-book.ts';
import { ClickhouseUsageStore } from '../usage/clickhouse-usage-store.ts';
import { PostgresUsageStore } from '../usage/postgres-usage-store.ts';
import type { UsageStore } from '../usage/usage-store.ts';
import { newUsageEvent } from '../usage/usage-event.ts';
import { BillingService } from './billing.service.ts';

const models: ModelConfig[] = configSchema.shape.inference.parse({
  providers: [{ name: 'gpu', type: 'openai', baseUrl: 'http://127.0.0.1:1/v1' }],
  models: [
    { name: 'priced', contextWindow: 4_096, deployments: [{ provider: 'gpu', model: 'm' }], price: { inputPerMillion: '3.00', outputPerMillion: '15.00', currency: 'USD' }, costBasis: { perMillion: '1.25', currency: 'USD' } },
    { name: 'free-model', deployments: [{ provider: 'gpu', model: 'f' }] },
    { name: 'euro-model', deployments: [{ provider: 'gpu', model: 'e' }], price: { inputPerMillion: '1.000001', outputPerMillion: '2.00', currency: 'EUR' } },
  ],
}).models;

const platform: Principal = { kind: 'platform', tenantId: undefined, userId: undefined };
const member = (tenantId: string): Principal => ({ kind: 'user', tenantId, userId: 'u1', role: 'member', expiresAt: undefined });

// Each SQL dialect with its own usage tables, and PGlite with usage in ClickHouse: invoices read the
// usage store over exact time ranges, which each store answers its own way.
const clickhouseUrl = serviceUrl('CLICKHOUSE');
const backends: { name: string; dialect: SqlDialectUnderTest; clickhouse: boolean }[] = [
  ...sqlDialects().map((dialect) => ({ name: dialect.name, dialect, clickhouse: false })),
  ...(clickhouseUrl ? [{ name: 'pglite with usage in clickhouse', dialect: sqlDialects()[0]!, clickhouse: true }] : []),
];

describe.each(backends)('billing over $name', ({ dialect, clickhouse }) => {
  let handle: SqlDatabaseHandle;
  let dispose: () => Promise<void>;
  let disposeUsage = async () => {};
  let store: UsageStore;
  // 2026-11 has 30 days; "now" is the 21st at noon unless a test moves it.
  let now = Date.UTC(2026, 10, 21, 12);
  let billing: BillingService;
  let plans: PlanService;

  beforeAll(async () => {
    ({ handle, dispose } = await openMigrated(dialect));
    if (clickhouse) {
      const database = await createClickhouseDatabase(clickhouseUrl!);
      const clickhouseStore = new ClickhouseUsageStore(database.client, { retentionMonths: 18, insertTimeoutMs: 10_000 });
      await clickhouseStore.prepare();
      store = clickhouseStore;
      disposeUsage = database.dispose;
    } else {
      store = new PostgresUsageStore(handle.db, { kind: handle.kind, retentionMonths: 18 });
    }
    billing = new BillingService({
      db: handle.db,
      usage: store,
      prices: new PriceBook(models),
      models: () => models,
      defaultMaxTokens: 512,
      defaultCostBasis: { perMillionMicros: 3_000_000n, currency: 'USD' },
      now: () => now,
    });
    plans = new PlanService(handle.db, () => {}, () => now);
  });
  afterAll(async () => {
    await disposeUsage();
    await dispose();
  });

  const tenant = async (id: string, plan: string) => {
    await handle.db.insertInto('tenant').values({ id, name: id, plan_id: plan }).execute();
  };
  const planChange = (tenantId: string, at: Date, from: string, to: string) =>
    handle.db
      .insertInto('audit_log')
      .values({ tenant_id: tenantId, actor_type: 'platform', actor_id: 'admin-key', action: 'tenant.set_plan', target: tenantId, details: JSON.stringify({ from, to }), created_at: at })
      .execute();
  const usage = (tenantId: string, ts: Date, model: string, promptTokens: number, completionTokens: number, costMicros = 0, currency = 'USD') =>
    store.insert([
      newUsageEvent({ requestId: `r-${Math.random()}`, tenantId, requestedModel: model, servedModel: model, kind: 'chat', node: 'test', ts, promptTokens, completionTokens, costMicros, currency }),
    ]);

  describe('estimateCost', () => {
    it('prices every prompt token and the whole reply budget, exactly', async () => {
      expect(await billing.estimateCost('priced', 1_234, 567)).toEqual({
        model: 'priced',
        promptTokens: 1_234,
        maxTokens: 567,
        // 1234 x 3 + 567 x 15 = 12,207 micro-dollars
        cost: { currency: 'USD', micros: 12_207 },
        priced: true,
      });
      // Rounded half up per side, never through a float: 3 tokens at 1.000001 per million is 3.000003 micros.
      expect((await billing.estimateCost('euro-model', 3, 0)).cost).toEqual({ currency: 'EUR', micros: 3 });
    });

    it("assumes the model's context window left when no max_tokens is given, else the default", async () => {
      expect(await billing.estimateCost('priced', 96)).toMatchObject({ maxTokens: 4_000 });
      expect(await billing.estimateCost('free-model', 10)).toMatchObject({ maxTokens: 512, priced: false, cost: { micros: 0 } });
    });

    it('counts chat messages with the tokenizer', async () => {
      const estimate = await billing.estimateCost('priced', [{ role: 'user', content: 'hello there, how much will this cost?' }], 0);
      expect(estimate.promptTokens).toBeGreaterThan(8);
      expect(estimate.cost.micros).toBe(estimate.promptTokens * 3);
    });

    it('refuses unknown models and negative counts', async () => {
      await expect(billing.estimateCost('nope', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(billing.estimateCost('priced', -1)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(billing.estimateCost('priced', 1, 1.5)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  describe('invoicePreview', () => {
    it('bills a whole month on one plan: base fee, included tokens, overage at the rate, lines per model', async () => {
      await tenant('t-one', 'starter');
      await usage('t-one', new Date(Date.UTC(2026, 10, 2)), 'priced', 3_000_000, 1_000_000, 24_000_000);
      await usage('t-one', new Date(Date.UTC(2026, 10, 20)), 'priced', 1_500_000, 0, 4_500_000);
      await usage('t-one', new Date(Date.UTC(2026, 10, 20)), 'free-model', 250_001, 0);
      await usage('t-one', new Date(Date.UTC(2026, 9, 31, 23, 59)), 'priced', 9_999_999, 0);
      const invoice = await billing.invoicePreview(platform, 't-one', null);
      expect(invoice).toMatchObject({
        final: false,
        currency: 'GBP',
        baseFee: { currency: 'GBP', micros: 39_000_000 },
        includedTokens: 5_000_000,
        usedTokens: 5_750_001,
        overageTokens: 750_001,
        overageRatePerMillion: { currency: 'GBP', micros: 8_000_000 },
        // 750,001 x 8.00 per million = 6.000008
        overageCharge: { currency: 'GBP', micros: 6_000_008 },
        total: { currency: 'GBP', micros: 45_000_008 },
        showCostBasis: true,
      });
      expect(invoice.planPeriods.map((p) => [p.plan.id, p.days, p.baseFee.micros])).toEqual([['starter', 30, 39_000_000]]);
      expect(invoice.lines).toEqual([
        {
          model: 'priced',
          requests: 2,
          promptTokens: 4_500_000,
          completionTokens: 1_000_000,
          totalTokens: 5_500_000,
          priceBookValue: [{ currency: 'USD', micros: 28_500_000 }],
          costBasis: { currency: 'USD', micros: 6_875_000 },
          margin: { currency: 'USD', micros: 21_625_000 },
        },
        {
          model: 'free-model',
          requests: 1,
          promptTokens: 250_001,
          completionTokens: 0,
          totalTokens: 250_001,
          priceBookValue: [{ currency: 'USD', micros: 0 }],
          costBasis: { currency: 'USD', micros: 750_003 },
          margin: { currency: 'USD', micros: -750_003 },
        },
      ]);
      expect((await billing.invoicePreview(member('t-one'), 't-one', '2026-11')).showCostBasis).toBe(false);
    });

    it('bills each day at the plan in force at its end when the plan changes mid-month', async () => {
      await tenant('t-change', 'pro');
      // starter for the 1st to the 10th, pro from a change during the 11th (the 11th is billed as pro),
      // then enterprise for the last day: two changes in the audit log, one after the month.
      await planChange('t-change', new Date(Date.UTC(2026, 10, 11, 9)), 'starter', 'pro');
      await planChange('t-change', new Date(Date.UTC(2026, 10, 30, 1)), 'pro', 'enterprise');
      await planChange('t-change', new Date(Date.UTC(2026, 11, 3)), 'enterprise', 'pro');
      now = Date.UTC(2026, 11, 15);
      const invoice = await billing.invoicePreview(platform, 't-change', '2026-11');
      expect(invoice.final).toBe(true);
      expect(invoice.planPeriods.map((p) => [p.plan.id, p.from.toISOString().slice(0, 10), p.to.toISOString().slice(0, 10), p.days])).toEqual([
        ['starter', '2026-11-01', '2026-11-11', 10],
        ['pro', '2026-11-11', '2026-11-30', 19],
        ['enterprise', '2026-11-30', '2026-12-01', 1],
      ]);
      // (39 x 10 + 149 x 19 + 499 x 1) / 30 = 3,720 / 30 = 124.00
      expect(invoice.baseFee).toEqual({ currency: 'GBP', micros: 124_000_000 });
      // (5M x 10 + 25M x 19 + 100M x 1) / 30 = 625M / 30
      expect(invoice.includedTokens).toBe(Math.floor(625_000_000 / 30));
      expect(invoice.overageRatePerMillion.micros).toBe(5_000_000);
      expect(invoice.total).toEqual(invoice.baseFee);
      now = Date.UTC(2026, 10, 21, 12);
    });

    it('splits a base fee into exact micro-units, rounding half up once', async () => {
      await tenant('t-third', 'starter');
      await planChange('t-third', new Date(Date.UTC(2026, 10, 1, 0, 0, 1)), 'free', 'starter');
      const invoice = await billing.invoicePreview(platform, 't-third', '2026-11');
      // Day 1 ends on starter too: the whole month is starter.
      expect(invoice.baseFee.micros).toBe(39_000_000);
      await planChange('t-third', new Date(Date.UTC(2026, 10, 2, 12)), 'starter', 'free');
      await planChange('t-third', new Date(Date.UTC(2026, 10, 3, 12)), 'free', 'starter');
      const split = await billing.invoicePreview(platform, 't-third', '2026-11');
      // One free day (the 2nd): 39 x 29 / 30 = 37.7 exactly.
      expect(split.baseFee.micros).toBe(37_700_000);
      expect(split.planPeriods.map((p) => p.plan.id)).toEqual(['starter', 'free', 'starter']);
      expect(split.planPeriods.reduce((sum, p) => sum + p.baseFee.micros, 0)).toBe(37_700_000);
    });

    it("refuses a month not started, a malformed month and another tenant's invoice", async () => {
      await tenant('t-other', 'free');
      await expect(billing.invoicePreview(platform, 't-other', '2027-01')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(billing.invoicePreview(platform, 't-other', '2026-13')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(billing.invoicePreview(member('t-one'), 't-other', null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(billing.invoicePreview(platform, 'missing', null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('bills usage at the price version in force when it was served: a mid-month edit leaves the first half to the cent', async () => {
      // 30.00 a month is 1.00 a day in November; overage 2.00 per million up to 1M beyond the included, then 1.00.
      await plans.create({ principal: platform, requestId: 'r' }, {
        id: 'mid',
        name: 'Mid',
        currency: 'GBP',
        monthlyPrice: '30.00',
        monthlyTokens: 1_000_000,
        requestsPerMinute: 60,
        tokensPerMinute: 100_000,
        hardQuota: false,
        overageTiers: [{ upToTokens: 1_000_000, perMillion: '2.00' }, { upToTokens: null, perMillion: '1.00' }],
      });
      await tenant('t-mid', 'mid');
      await usage('t-mid', new Date(Date.UTC(2026, 10, 3)), 'priced', 800_000, 0);
      await usage('t-mid', new Date(Date.UTC(2026, 10, 10)), 'priced', 600_000, 100_000);
      now = Date.UTC(2026, 10, 15, 12);
      const before = await billing.invoicePreview(platform, 't-mid', '2026-11');
      expect(before.charges.map((c) => [c.from.toISOString(), c.to.toISOString(), c.baseFee.micros, c.tokens, c.overageTokens, c.overageCharge.micros])).toEqual([
        ['2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z', 30_000_000, 1_500_000, 500_000, 1_000_000],
      ]);

      // The edit, made on the 15th, takes effect on the 16th: double the price and the overage rates.
      await plans.update({ principal: platform, requestId: 'r' }, {
        id: 'mid',
        monthlyPrice: '60.00',
        overageTiers: [{ upToTokens: 1_000_000, perMillion: '4.00' }, { upToTokens: null, perMillion: '3.00' }],
        priceEffectiveFrom: new Date(Date.UTC(2026, 10, 16)),
      });
      // Served at the very instant the new version takes effect: priced at it.
      await usage('t-mid', new Date(Date.UTC(2026, 10, 16)), 'priced', 400_000, 0);
      await usage('t-mid', new Date(Date.UTC(2026, 10, 20)), 'priced', 800_000, 0);
      now = Date.UTC(2026, 11, 2);
      const after = await billing.invoicePreview(platform, 't-mid', '2026-11');
      const [firstHalf, secondHalf] = after.charges;
      expect(after.charges).toHaveLength(2);
      // The first half: 15 days of 30.00 and its overage at the old tiers, exactly what it was before the edit.
      expect(firstHalf).toMatchObject({ from: new Date(Date.UTC(2026, 10, 1)), to: new Date(Date.UTC(2026, 10, 16)), tokens: 1_500_000, overageTokens: 500_000 });
      expect(firstHalf!.overageCharge).toEqual(before.charges[0]!.overageCharge);
      expect(firstHalf!.overageCharge).toEqual(before.overageCharge);
      expect(firstHalf!.baseFee).toEqual({ currency: 'GBP', micros: before.baseFee.micros / 2 });
      expect(firstHalf!.price.monthly_price).toBe('30.00');
      // The second half at the new version: 500k more at 4.00 up to the tier's 1M, then 700k at 3.00.
      expect(secondHalf).toMatchObject({ tokens: 1_200_000, overageTokens: 1_200_000, baseFee: { micros: 30_000_000 }, overageCharge: { micros: 2_000_000 + 2_100_000 } });
      expect(after).toMatchObject({ final: true, baseFee: { micros: 45_000_000 }, usedTokens: 2_700_000, overageTokens: 1_700_000, overageCharge: { micros: 5_100_000 }, total: { micros: 50_100_000 } });

      // Any later edit, to the price now or to come, leaves November's invoice as it was.
      await plans.update({ principal: platform, requestId: 'r' }, { id: 'mid', monthlyPrice: '99.00', overagePerMillion: '9.00' });
      await plans.update({ principal: platform, requestId: 'r' }, { id: 'mid', monthlyPrice: '1.00', priceEffectiveFrom: new Date(Date.UTC(2027, 0, 1)) });
      expect(await billing.invoicePreview(platform, 't-mid', '2026-11')).toEqual(after);
      now = Date.UTC(2026, 10, 21, 12);
    });

    it('prices overage exactly at a volume tier boundary', async () => {
      await plans.create({ principal: platform, requestId: 'r' }, {
        id: 'volume',
        name: 'Volume',
        currency: 'GBP',
        monthlyPrice: '0.00',
        monthlyTokens: 1_000,
        hardQuota: false,
        overageTiers: [{ upToTokens: 10_000_000, perMillion: '3.00' }, { upToTokens: null, perMillion: '2.00' }],
      });
      await tenant('t-volume', 'volume');
      await usage('t-volume', new Date(Date.UTC(2026, 10, 5)), 'priced', 10_001_000, 0);
      const atBoundary = await billing.invoicePreview(platform, 't-volume', '2026-11');
      expect(atBoundary).toMatchObject({ includedTokens: 1_000, overageTokens: 10_000_000, overageCharge: { micros: 30_000_000 } });
      await usage('t-volume', new Date(Date.UTC(2026, 10, 6)), 'priced', 1, 0);
      const past = await billing.invoicePreview(platform, 't-volume', '2026-11');
      // One token into the second tier: 2.00 per million is 2 micros.
      expect(past).toMatchObject({ overageTokens: 10_000_001, overageCharge: { micros: 30_000_002 } });
    });

    it('bills no overage on an unlimited plan', async () => {
      await plans.create({ principal: platform, requestId: 'r' }, { id: 'all-you-can-eat', name: 'All you can eat', currency: 'GBP', monthlyPrice: '900.00', hardQuota: false, overagePerMillion: '1.00' });
      await tenant('t-unlimited', 'all-you-can-eat');
      await usage('t-unlimited', new Date(Date.UTC(2026, 10, 5)), 'priced', 500_000_000, 0);
      expect(await billing.invoicePreview(platform, 't-unlimited', '2026-11')).toMatchObject({ includedTokens: null, usedTokens: 500_000_000, overageTokens: 0, overageCharge: { micros: 0 }, total: { micros: 900_000_000 } });
    });
  });

  describe('forecast', () => {
    it("projects the month from the store's daily usage, with the quota's and budgets' crossing dates", async () => {
      await tenant('t-forecast', 'starter');
      // 2026-11-01 is a Sunday. Weekdays 300,000 tokens (GBP 0.30 at 1.00 a million), weekends 100,000.
      for (let day = 0; day < 10; day++) {
        const weekday = new Date(Date.UTC(2026, 10, 1 + day)).getUTCDay();
        const tokens = weekday === 0 || weekday === 6 ? 100_000 : 300_000;
        await usage('t-forecast', new Date(Date.UTC(2026, 10, 1 + day, 12)), 'priced', tokens, 0, tokens, 'GBP');
      }
      await handle.db.insertInto('budget').values({ tenant_id: 't-forecast', api_key_id: '', monthly_limit: '4.00', currency: 'GBP', alert_thresholds: [100], hard_stop: false }).execute();
      now = Date.UTC(2026, 10, 11); // midnight: ten complete days, nothing of the 11th yet
      const forecast = await billing.forecast(platform, 't-forecast', 'weekday');
      // 20 days to come: Nov 11-30 hold 14 weekdays and 6 weekend days.
      const expectedTokens = 2_400_000 + 14 * 300_000 + 6 * 100_000;
      expect(forecast).toMatchObject({ daysObserved: 10, usedTokens: 2_400_000, projectedTokens: expectedTokens, includedTokens: 5_000_000 });
      expect(forecast.costs).toEqual([{ spent: { currency: 'GBP', micros: 2_400_000 }, projected: { currency: 'GBP', micros: expectedTokens } }]);
      // 5M tokens: 2.4M by the 10th, then 11th-13th +0.9M (3.3M), 14th-15th weekend +0.2M (3.5M), 16th-20th +1.5M: reached on the 20th.
      expect(forecast.quotaCrossingDate).toBe('2026-11-20');
      // GBP 4.00 at the same rate is 4M tokens: 3.5M by the 15th, 3.8M by the 16th, 4.1M by the 17th.
      expect(forecast.budgets).toEqual([
        { apiKeyId: null, limit: { currency: 'GBP', micros: 4_000_000 }, spent: { currency: 'GBP', micros: 2_400_000 }, projected: { currency: 'GBP', micros: expectedTokens }, crossingDate: '2026-11-17' },
      ]);
      await expect(billing.forecast(member('t-one'), 't-forecast', 'trend')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      now = Date.UTC(2026, 10, 21, 12);
    });
  });
});
