import { describe, expect, it } from 'vitest';
import { ProviderError, type ProviderErrorKind } from '../providers/provider-error.ts';
import { backoffMs, judgeFailure } from './failure-policy.ts';

const failure = (kind: ProviderErrorKind, status?: number, extra: { retryAfterMs?: number; upstreamMessage?: string } = {}) =>
  new ProviderError(kind, 'gpu-a', `gpu-a failed`, { status, ...extra });
const context = { model: 'm', timedOut: undefined, tenantCredential: false };

describe('judgeFailure', () => {
  it('retries connect errors, timeouts, 429 and 5xx, and counts them against the breaker', () => {
    const cases: [ProviderError, string][] = [
      [failure('connect'), 'UPSTREAM_UNAVAILABLE'],
      [failure('timeout', 408), 'UPSTREAM_TIMEOUT'],
      [failure('rate_limited', 429, { retryAfterMs: 2000 }), 'UPSTREAM_UNAVAILABLE'],
      [failure('server', 500), 'UPSTREAM_ERROR'],
      [failure('server', 503), 'UPSTREAM_UNAVAILABLE'],
      [failure('protocol'), 'UPSTREAM_ERROR'],
    ];
    for (const [error, code] of cases) {
      const verdict = judgeFailure(error, context);
      expect(verdict).toMatchObject({ retry: true, outcome: 'failure', error: { code } });
      expect(verdict.error.message).not.toContain('gpu-a');
    }
    expect(judgeFailure(failure('rate_limited', 429, { retryAfterMs: 2000 }), context).error.details.retryAfterMs).toBe(2000);
  });

  it('relays the caller’s own 4xx without retrying or blaming the deployment', () => {
    const verdict = judgeFailure(failure('client', 400, { upstreamMessage: 'context length exceeded' }), context);
    expect(verdict).toMatchObject({ retry: false, outcome: 'neutral', error: { code: 'BAD_USER_INPUT', message: 'context length exceeded' } });
  });

  it('fails over on a deployment-side 401/403/404, blaming the deployment unless the tenant’s key was refused', () => {
    expect(judgeFailure(failure('client', 401), context)).toMatchObject({ retry: true, outcome: 'failure' });
    expect(judgeFailure(failure('client', 404), context)).toMatchObject({ retry: true, outcome: 'failure' });
    const tenantKey = judgeFailure(failure('client', 401), { ...context, tenantCredential: true });
    expect(tenantKey).toMatchObject({ retry: true, outcome: 'neutral' });
    expect(tenantKey.error.message).toContain('credential');
  });

  it('treats the router’s own timers as timeouts, and stops retrying once the total budget is gone', () => {
    expect(judgeFailure(failure('aborted'), { ...context, timedOut: 'first-token' })).toMatchObject({
      retry: true,
      outcome: 'failure',
      error: { code: 'UPSTREAM_TIMEOUT', details: { timeout: 'first-token' } },
    });
    expect(judgeFailure(failure('aborted'), { ...context, timedOut: 'total' })).toMatchObject({ retry: false, error: { code: 'UPSTREAM_TIMEOUT' } });
  });
});

describe('backoffMs', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const settings = { baseMs: 100, maxMs: 1_000 };
    expect(backoffMs(0, settings, () => 0.999)).toBe(99);
    expect(backoffMs(2, settings, () => 0.999)).toBe(399);
    expect(backoffMs(10, settings, () => 0.999)).toBe(999);
    expect(backoffMs(3, settings, () => 0)).toBe(0);
  });
});
