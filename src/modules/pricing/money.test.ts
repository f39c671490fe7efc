import { describe, expect, it } from 'vitest';
import { decimalToMicros, microsToDecimal, tokensCostMicros } from './money.ts';

describe('money in micro-units', () => {
  it('parses decimal strings exactly', () => {
    expect(decimalToMicros('3.00')).toBe(3_000_000n);
    expect(decimalToMicros('0.000001')).toBe(1n);
    expect(decimalToMicros('149')).toBe(149_000_000n);
    expect(() => decimalToMicros('1.0000001')).toThrow(/6 decimals/);
    expect(() => decimalToMicros('-1')).toThrow();
  });

  it('formats micro-units with rounding half up', () => {
    expect(microsToDecimal(3_000_000n)).toBe('3.000000');
    expect(microsToDecimal(1_234_567n, 2)).toBe('1.23');
    expect(microsToDecimal(1_235_000n, 2)).toBe('1.24');
    expect(microsToDecimal(-500n, 3)).toBe('-0.001');
  });

  it('prices tokens without floating point drift', () => {
    expect(tokensCostMicros(1_000_000, decimalToMicros('3.00'))).toBe(3_000_000n);
    expect(tokensCostMicros(1, decimalToMicros('3.00'))).toBe(3n);
    expect(tokensCostMicros(1, decimalToMicros('0.50'))).toBe(1n); // 0.5 micro rounds half up
    expect(tokensCostMicros(123_456_789, decimalToMicros('2.345678'))).toBe(289_589_874n);
  });
});
