import { describe, expect, it } from 'vitest';
import { normalCdf, regularizedBeta, twoProportionZ, welchT } from './significance.ts';

// Checked against published tables and R (pt, prop.test without continuity correction, t.test).

describe('significance', () => {
  it('gives the normal and t distributions their table values', () => {
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    // Two-sided p of t = 2.228 with 10 degrees of freedom is 0.05.
    expect(regularizedBeta(10 / (10 + 2.228 ** 2), 5, 0.5)).toBeCloseTo(0.05, 3);
    // With 1 degree of freedom, t = 12.706 gives 0.05.
    expect(regularizedBeta(1 / (1 + 12.706 ** 2), 0.5, 0.5)).toBeCloseTo(0.05, 3);
  });

  it('runs a two-proportion z-test: 45/100 against 60/100 gives p = 0.0337', () => {
    const result = twoProportionZ(45, 100, 60, 100);
    expect(result.difference).toBeCloseTo(0.15, 10);
    expect(result.pValue).toBeCloseTo(0.0337, 3);
    expect(twoProportionZ(0, 50, 0, 50).pValue).toBe(1);
  });

  it("runs Welch's t-test: means 20 and 22, sd 2 and 3, n 30 and 40 gives p = 0.0014", () => {
    const result = welchT({ count: 30, mean: 20, variance: 4 }, { count: 40, mean: 22, variance: 9 });
    expect(result.difference).toBe(2);
    // t = 3.34, df = 67.2.
    expect(result.pValue).toBeCloseTo(0.00141, 4);
    expect(welchT({ count: 5, mean: 1, variance: 0 }, { count: 5, mean: 1, variance: 0 }).pValue).toBe(1);
  });
});
