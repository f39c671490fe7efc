import { describe, expect, it } from 'vitest';
import { formatResetDuration } from './rate-limit-headers.ts';

describe('x-ratelimit-reset-* durations', () => {
  it("reads as OpenAI's do", () => {
    expect(formatResetDuration(0)).toBe('0s');
    expect(formatResetDuration(17)).toBe('17ms');
    expect(formatResetDuration(999.2)).toBe('1s');
    expect(formatResetDuration(1_000)).toBe('1s');
    expect(formatResetDuration(6_540)).toBe('6.5s');
    expect(formatResetDuration(60_000)).toBe('1m0s');
    expect(formatResetDuration(361_000)).toBe('6m1s');
  });
});
