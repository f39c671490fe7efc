import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../deps.ts';
import { requireActingTenant } from '../modules/identity/index.ts';
import type { Principal } from '../modules/identity/index.ts';
import { usageStatuses, type UsageEvent, type UsageStatus } from '../modules/usage/index.ts';
import { formatMicros } from '../modules/usage/index.ts';
import type { CostAmount, UsageBucket, UsageFilter, UsageGroupBy, UsageTotals } from '../modules/usage/index.ts';
import { badInput, notFound } from '../shared/errors.ts';
import { authenticateV1Caller } from './authenticate.ts';
import { sendOpenAiError } from './openai/error-response.ts';
import { requestIdOf } from './request-id.ts';
import { cutResponse } from './respond.ts';

// GET /v1/usage/export?from=&to=[&type=events|buckets][&format=csv|json|ndjson][&groupBy=day][&model=..]
// Streams a tenant's events (or report buckets) for a range: rows go out as the store yields them, in
// bounded chunks, with backpressure, so a year of events never sits in memory.

const FORMATS = { csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8', ndjson: 'application/x-ndjson; charset=utf-8' } as const;
type Format = keyof typeof FORMATS;
const GROUPINGS: Record<string, UsageGroupBy> = { hour: 'hour', day: 'day', month: 'month', model: 'model', provider: 'provider', api_key: 'apiKey', apikey: 'apiKey', user: 'user' };
const CHUNK_ROWS = 500;

const EVENT_COLUMNS = [
  'event_id', 'request_id', 'timestamp', 'tenant_id', 'user_id', 'api_key_id', 'requested_model', 'served_model', 'provider', 'deployment',
  'kind', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'tokens_estimated', 'ttft_ms', 'latency_ms', 'status', 'error_code',
  'cache_hit', 'cost', 'currency', 'node', 'cached_tokens', 'reasoning_tokens',
];
const BUCKET_COLUMNS = [
  'key', 'start', 'end', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'errors', 'refused', 'cancelled', 'cache_hits',
  'estimated', 'costs', 'latency_avg_ms', 'latency_p50_ms', 'latency_p95_ms', 'cached_tokens', 'reasoning_tokens',
];

/** A CSV cell: quoted when needed; text that a spreadsheet would run as a formula is prefixed with '. */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvLine = (cells: (string | number | boolean | null)[]) => `${cells.map(csvCell).join(',')}\r\n`;

function eventRecord(e: UsageEvent) {
  return {
    eventId: e.eventId,
    requestId: e.requestId,
    timestamp: e.ts.toISOString(),
    tenantId: e.tenantId,
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    requestedModel: e.requestedModel,
    servedModel: e.servedModel,
    provider: e.provider,
    deployment: e.deployment,
    kind: e.kind,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    totalTokens: e.totalTokens,
    tokensEstimated: e.tokensEstimated,
    ttftMs: e.ttftMs,
    latencyMs: e.latencyMs,
    status: e.status,
    errorCode: e.errorCode,
    cacheHit: e.cacheHit,
    cost: formatMicros(e.costMicros),
    currency: e.currency,
    node: e.node,
    // Last, as the CSV columns added after the others are, so readers that go by position keep working.
    cachedTokens: e.cachedTokens,
    reasoningTokens: e.reasoningTokens,
  };
}

const money = (costs: CostAmount[]) => costs.map((c) => ({ amount: formatMicros(c.micros), currency: c.currency }));

function totalsRecord(totals: UsageTotals) {
  const { costs, latency, ...counts } = totals;
  return { ...counts, costs: money(costs), latency };
}

function bucketCsv(bucket: UsageBucket): string {
  const t = bucket.totals;
  return csvLine([
    bucket.key,
    bucket.start?.toISOString() ?? null,
    bucket.end?.toISOString() ?? null,
    t.requests, t.promptTokens, t.completionTokens, t.totalTokens, t.errors, t.refused, t.cancelled, t.cacheHits, t.estimated,
    t.costs.map((c) => `${c.currency} ${formatMicros(c.micros)}`).join('; '),
    t.latency?.avgMs ?? null, t.latency?.p50Ms ?? null, t.latency?.p95Ms ?? null,
    t.cachedTokens, t.reasoningTokens,
  ]);
}

function list(params: URLSearchParams, name: string): string[] | undefined {
  const values = params.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return values.length > 0 ? values : undefined;
}

function parseDate(params: URLSearchParams, name: string): Date {
  const value = params.get(name);
  const date = value ? new Date(value) : undefined;
  if (!value || !date || Number.isNaN(date.getTime())) throw badInput(`"${name}" must be an ISO 8601 time, e.g. 2026-11-01T00:00:00Z`, { param: name });
  return date;
}

interface ExportRequest {
  type: 'events' | 'buckets';
  format: Format;
  range: { from: Date; to: Date };
  groupBy: UsageGroupBy;
  filter: UsageFilter;
}

function parseRequest(url: URL): ExportRequest {
  const params = url.searchParams;
  const type = params.get('type') ?? 'events';
  if (type !== 'events' && type !== 'buckets') throw badInput('"type" must be events or buckets', { param: 'type' });
  const format = params.get('format') ?? 'csv';
  if (!(format in FORMATS)) throw badInput('"format" must be csv, json or ndjson', { param: 'format' });
  const groupBy = GROUPINGS[(params.get('groupBy') ?? 'day').toLowerCase()];
  if (!groupBy) throw badInput(`"groupBy" must be one of ${Object.keys(GROUPINGS).join(', ')}`, { param: 'groupBy' });
  const statuses = list(params, 'status')?.map((s) => s.toLowerCase());
  if (statuses?.some((s) => !usageStatuses.includes(s as UsageStatus))) throw badInput(`"status" must be among ${usageStatuses.join(', ')}`, { param: 'status' });
  return {
    type,
    format: format as Format,
    range: { from: parseDate(params, 'from'), to: parseDate(params, 'to') },
    groupBy,
    filter: {
      models: list(params, 'model'),
      providers: list(params, 'provider'),
      apiKeyIds: list(params, 'apiKeyId'),
      userIds: list(params, 'userId'),
      statuses: statuses as UsageStatus[] | undefined,
    },
  };
}

/** Writes with backpressure; false once the client has gone. */
async function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(chunk)) {
    // Whichever of drain and close comes first, the other listener is removed, so none pile up.
    const settled = new AbortController();
    await Promise.race([once(res, 'drain', { signal: settled.signal }), once(res, 'close', { signal: settled.signal })]).finally(() => settled.abort());
  }
  return !res.destroyed;
}

async function tenantOf(deps: AppDeps, principal: Principal, url: URL): Promise<string> {
  const named = url.searchParams.get('tenantId') || undefined;
  // The platform names the tenant with X-Tenant-ID (or ?tenantId=, where an unknown tenant is NOT_FOUND);
  // everyone else exports their own.
  if (principal.kind === 'platform' && principal.tenantId === undefined && named !== undefined) {
    return (await deps.services.tenants.get(principal, named)).id;
  }
  const tenantId = requireActingTenant(principal);
  // Naming another tenant is NOT_FOUND, as any of its objects, rather than quietly exporting the caller's own.
  if (named !== undefined && named !== tenantId) throw notFound('tenant', named);
  return tenantId;
}

export async function handleUsageExport(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = requestIdOf(req) ?? '';
  req.resume();
  try {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `${req.method} is not allowed on /v1/usage/export`, type: 'invalid_request_error', param: null, code: 'method_not_allowed' } }));
      return;
    }
    const principal = await authenticateV1Caller(deps, req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const request = parseRequest(url);
    const tenantId = await tenantOf(deps, principal, url);
    const usage = deps.services.usage;
    const filename = `usage-${request.type}-${tenantId}-${request.range.from.toISOString().slice(0, 10)}-${request.range.to.toISOString().slice(0, 10)}.${request.format}`;
    const headers = {
      'content-type': FORMATS[request.format],
      'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'cache-control': 'no-store',
    };

    if (request.type === 'buckets') {
      const report = await usage.exportReport(principal, tenantId, { range: request.range, groupBy: request.groupBy, filter: request.filter, latency: true });
      res.writeHead(200, headers);
      if (request.format === 'csv') res.end(`${csvLine(BUCKET_COLUMNS)}${report.buckets.map(bucketCsv).join('')}`);
      else if (request.format === 'ndjson') res.end(report.buckets.map((b) => `${JSON.stringify({ ...b, totals: totalsRecord(b.totals) })}\n`).join(''));
      else res.end(`${JSON.stringify({ tenantId, range: request.range, groupBy: request.groupBy, totals: totalsRecord(report.totals), buckets: report.buckets.map((b) => ({ ...b, totals: totalsRecord(b.totals) })) })}\n`);
      return;
    }

    const events = usage.exportEvents(principal, tenantId, { range: request.range, filter: request.filter });
    const iterator = events[Symbol.asyncIterator]();
    // The first chunk is read before the headers go out, so a store failure can still be a proper error.
    let next = await iterator.next();
    res.writeHead(200, headers);
    const format = request.format;
    let buffer = format === 'csv' ? csvLine(EVENT_COLUMNS) : format === 'json' ? '[' : '';
    let rows = 0;
    try {
      while (!next.done) {
        const record = eventRecord(next.value);
        if (format === 'csv') buffer += csvLine(Object.values(record));
        else buffer += `${format === 'json' && rows > 0 ? ',' : ''}${format === 'json' ? '\n' : ''}${JSON.stringify(record)}${format === 'ndjson' ? '\n' : ''}`;
        rows += 1;
        if (rows % CHUNK_ROWS === 0) {
          if (!(await write(res, buffer))) return;
          buffer = '';
        }
        next = await iterator.next();
      }
      if (format === 'json') buffer += rows > 0 ? '\n]\n' : ']\n';
      if (await write(res, buffer)) res.end();
    } finally {
      await iterator.return?.();
    }
  } catch (error) {
    if (res.headersSent) {
      deps.logger.error({ err: error, requestId }, 'usage export failed mid-stream');
      cutResponse(res);
      return;
    }
    sendOpenAiError(res, error, deps.logger, requestId);
  }
}
