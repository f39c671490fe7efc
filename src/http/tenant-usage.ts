import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../deps.ts';
import { requireActingTenant } from '../modules/identity/index.ts';
import type { LimitState } from '../modules/limits/index.ts';
import { tightestWindow } from '../modules/limits/index.ts';
import { requireUsageRead } from '../modules/usage/index.ts';
import { authenticateV1Caller } from './authenticate.ts';
import { sendJson } from './respond.ts';

function window(states: readonly LimitState[] | undefined, indexes: readonly number[]) {
  const tightest = states ? tightestWindow(states, indexes) : null;
  return tightest ? { limit: tightest.limit, remaining: tightest.remaining, reset_seconds: tightest.resetSeconds } : null;
}

/**
 * GET /v1/usage: the caller's tenant this billing period (a calendar month, UTC): requests and tokens
 * used, the limits in force, what remains, when it resets, and the plan. Reading it counts against nothing.
 */
export async function tenantUsage(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.resume();
  const principal = await authenticateV1Caller(deps, req);
  const tenantId = requireActingTenant(principal);
  requireUsageRead(principal, tenantId);
  const { limits: limitsService, quota: quotaService } = deps.services;
  const limits = await limitsService.limits(tenantId, principal.kind === 'api-key' ? principal.keyId : null);
  const [quota, states] = await Promise.all([quotaService.quota(principal, tenantId), limitsService.windows(limits)]);
  sendJson(
    res,
    200,
    {
      object: 'usage',
      tenant_id: tenantId,
      plan: { id: limits.plan.id, name: limits.plan.name, hard_quota: limits.hardQuota },
      period: { month: quota.period.month, start: quota.period.start.toISOString(), end: quota.period.end.toISOString() },
      usage: { requests: quota.requests, tokens: quota.used },
      limits: {
        monthly_tokens: limits.monthlyTokens,
        requests_per_month: limits.requestsPerMonth,
        requests_per_hour: limits.requestsPerHour,
        requests_per_minute: limits.requestsPerMinute,
        tokens_per_minute: limits.tokensPerMinute,
        concurrent_requests: limits.concurrentRequests,
      },
      remaining: {
        tokens: quota.limit > 0 ? quota.remaining : null,
        requests: quota.requestsRemaining,
      },
      overage_tokens: quota.overage,
      state: quota.state,
      reset_at: quota.period.end.toISOString(),
      rate_limits: { requests: window(states, limits.requestSpecs), tokens: window(states, limits.tokenSpecs) },
    },
    { 'cache-control': 'no-store' },
  );
}
