// Prints this month's usage of a tenant, by day, as a table.
//   TOLLGATE_URL=http://127.0.0.1:8000 TOLLGATE_API_KEY=tg_... node client/examples/usage-report.ts [TENANT_ID]
import { createTollgateClient, TenantUsageDocument, TollgateError, ViewerDocument } from '../src/index.ts';

const url = process.env.TOLLGATE_URL ?? 'http://127.0.0.1:8000';
const apiKey = process.env.TOLLGATE_API_KEY;
if (!apiKey) {
  console.error('Set TOLLGATE_API_KEY to a tenant API key with the usage:read scope.');
  process.exit(2);
}

const client = createTollgateClient({ url, apiKey });
try {
  const tenantId = process.argv[2] ?? (await client.execute(ViewerDocument)).viewer.tenantId;
  if (!tenantId) throw new Error('these credentials act for no tenant: pass a tenant id');
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const { tenant } = await client.execute(TenantUsageDocument, {
    tenantId,
    range: { from: from.toISOString(), to: to.toISOString() },
    groupBy: 'DAY',
  });
  if (!tenant) throw new Error(`tenant ${tenantId} not found`);
  const rows = tenant.usage.buckets
    .filter((bucket) => bucket.totals.requests > 0)
    .map((bucket) => ({
      day: bucket.start?.slice(0, 10) ?? bucket.key ?? '-',
      requests: bucket.totals.requests,
      prompt: bucket.totals.promptTokens,
      completion: bucket.totals.completionTokens,
      total: bucket.totals.totalTokens,
      errors: bucket.totals.errors,
      cost: bucket.totals.cost ? `${bucket.totals.cost.amount} ${bucket.totals.cost.currency}` : '-',
      p95ms: bucket.totals.latency?.p95Ms ?? '-',
    }));
  console.table(rows);
  const totals = tenant.usage.totals;
  console.log(`month to date: ${totals.requests} requests, ${totals.totalTokens} tokens`);
} catch (error) {
  console.error(error instanceof TollgateError ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
}
