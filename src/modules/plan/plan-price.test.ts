import { describe, expect, it } from 'vitest';
import { priceInForce, tieredCostMicros } from './plan-price.ts';
import type { PlanPriceRow } from './plan.table.ts';

const tiers = [
  { upToTokens: 10_000_000, perMillion: '3.00' },
  { upToTokens: 25_000_000, perMillion: '2.50' },
  { upToTokens: null, perMillion: '2.000001' },
];

describe('graduated overage tiers', () => {
  it('prices each token at the tier its position falls in, exactly at the boundaries', () => {
    expect(tieredCostMicros(tiers, 0, 10_000_000)).toBe(30_000_000n);
    expect(tieredCostMicros(tiers, 0, 10_000_001)).toBe(30_000_003n); // 1 token at 2.50 per million rounds half up to 3 micros
    expect(tieredCostMicros(tiers, 0, 25_000_000)).toBe(30_000_000n + 37_500_000n);
    expect(tieredCostMicros(tiers, 0, 26_000_000)).toBe(30_000_000n + 37_500_000n + 2_000_001n);
    expect(tieredCostMicros(tiers, 0, 0)).toBe(0n);
  });

  it('continues from where the month stood: two stretches cost what one does', () => {
    expect(tieredCostMicros(tiers, 9_000_000, 2_000_000)).toBe(3_000_000n + 2_500_000n);
    expect(tieredCostMicros(tiers, 0, 9_000_000) + tieredCostMicros(tiers, 9_000_000, 17_000_000)).toBe(tieredCostMicros(tiers, 0, 26_000_000));
    expect(tieredCostMicros(tiers, 30_000_000, 1_000_000)).toBe(2_000_001n);
  });
});

describe('the price version in force', () => {
  const version = (iso: string, monthlyPrice: string): PlanPriceRow => ({
    plan_id: 'p',
    effective_from: new Date(iso),
    currency: 'GBP',
    monthly_price: monthlyPrice,
    overage_tiers: [],
    created_at: new Date(),
  });
  const versions = [version('1970-01-01T00:00:00Z', '1.00'), version('2026-11-16T00:00:00Z', '2.00'), version('2026-12-01T00:00:00Z', '3.00')];

  it('is the last to take effect at or before the time', () => {
    expect(priceInForce(versions, Date.UTC(2026, 10, 15, 23, 59, 59, 999))?.monthly_price).toBe('1.00');
    expect(priceInForce(versions, Date.UTC(2026, 10, 16))?.monthly_price).toBe('2.00');
    expect(priceInForce(versions, Date.UTC(2027, 0, 1))?.monthly_price).toBe('3.00');
    expect(priceInForce(versions.slice(1), Date.UTC(2026, 0, 1))).toBeUndefined();
  });
});
