import { decimalToMicros, tokensCostMicros } from '../pricing/index.ts';
import type { PlanPriceRow, PriceTier } from './plan.table.ts';

/** The version in force at `at`: the last to take effect at or before it (versions sorted oldest first). */
export function priceInForce(versions: readonly PlanPriceRow[], at: number): PlanPriceRow | undefined {
  let found: PlanPriceRow | undefined;
  for (const version of versions) {
    if (version.effective_from.getTime() > at) break;
    found = version;
  }
  return found;
}

/**
 * What `tokens` overage tokens cost when `before` of the month's overage tokens came earlier: graduated
 * tiers, each token at the rate of the tier its position falls in, rounded half up once per tier.
 */
export function tieredCostMicros(tiers: readonly PriceTier[], before: number, tokens: number): bigint {
  let cost = 0n;
  let position = before;
  let left = tokens;
  for (const tier of tiers) {
    if (left <= 0) break;
    const ceiling = tier.upToTokens ?? Number.POSITIVE_INFINITY;
    if (position < ceiling) {
      const inTier = Math.min(left, ceiling - position);
      cost += tokensCostMicros(inTier, decimalToMicros(tier.perMillion));
      position += inTier;
      left -= inTier;
    }
  }
  return cost;
}
