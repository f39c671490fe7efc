import { describe, expect, it } from 'vitest';
import { kindForStatus, retryAfterMs, upstreamMessage } from './upstream-failure.ts';

describe('upstream failure classification', () => {
  it('maps statuses to kinds', () => {
    expect([408, 429, 500, 503, 400, 401, 404, 302].map(kindForStatus)).toEqual([
      'timeout',
      'rate_limited',
      'server',
      'server',
      'client',
      'client',
      'client',
      'protocol',
    ]);
  });

  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms', () => {
    expect(retryAfterMs({ 'retry-after': '3' })).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' })).toBe(250);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
  });

  it('quotes OpenAI and Ollama error bodies', () => {
    expect(upstreamMessage('{"error":{"message":"context too long"}}')).toBe('context too long');
    expect(upstreamMessage('{"error":"model not found"}')).toBe('model not found');
    expect(upstreamMessage('Bad Gateway')).toBe('Bad Gateway');
  });
});
