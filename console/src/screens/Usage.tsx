import { useState, type FormEvent } from 'react';
import { TenantUsageDocument, TenantUsageEventsDocument, TenantUsageTotalsDocument, type UsageGroupBy, type TenantUsageEventsQuery, type UsageFilter, type UsageStatus } from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { download, toCsv } from '../export-file.ts';
import { formatInt, formatMoney, formatTime } from '../format.ts';
import { reportIfSessionEnded } from '../session-ended.ts';
import { useQuery } from '../use-query.ts';

const pageSize = 50;
// An export walks every page of the filters shown, up to this many events.
const exportLimit = 20_000;
const statuses: UsageStatus[] = ['OK', 'ERROR', 'REFUSED', 'CANCELLED'];
const groupings: [UsageGroupBy | '', string][] = [
  ['', 'no grouping'],
  ['DAY', 'day'],
  ['MODEL', 'model'],
  ['API_KEY', 'API key'],
  ['USER', 'user'],
  ['PROVIDER', 'provider'],
];

interface Filters {
  from: string;
  to: string;
  model: string;
  apiKeyId: string;
  userId: string;
  status: string;
}

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

/** The UTC days chosen, as a half-open range: `to` includes the whole of its day. */
function queryOf(filters: Filters): { range: { from: string; to: string }; filter: UsageFilter } {
  const to = new Date(`${filters.to}T00:00:00Z`);
  to.setUTCDate(to.getUTCDate() + 1);
  const filter: UsageFilter = {
    ...(filters.model ? { models: [filters.model] } : {}),
    ...(filters.apiKeyId ? { apiKeyIds: [filters.apiKeyId] } : {}),
    ...(filters.userId ? { userIds: [filters.userId] } : {}),
    ...(filters.status ? { statuses: [filters.status as UsageStatus] } : {}),
  };
  return { range: { from: new Date(`${filters.from}T00:00:00Z`).toISOString(), to: to.toISOString() }, filter };
}

const columns = ['timestamp', 'requestId', 'requestedModel', 'servedModel', 'provider', 'apiKeyId', 'userId', 'kind', 'status', 'errorCode', 'promptTokens', 'completionTokens', 'totalTokens', 'tokensEstimated', 'latencyMs', 'ttftMs', 'cacheHit', 'cost', 'currency'] as const;

export function Usage({ tenantId }: { tenantId: string }) {
  const [filters, setFilters] = useState<Filters>({ from: daysAgo(6), to: today(), model: '', apiKeyId: '', userId: '', status: '' });
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const events = useQuery(async () => {
    const { range, filter } = queryOf(filters);
    const [page, totals] = await Promise.all([
      api.execute(TenantUsageEventsDocument, { tenantId, first: pageSize, after, filter, range }),
      api.execute(TenantUsageTotalsDocument, { tenantId, range, filter }),
    ]);
    return { page: page.tenant?.usageEvents, totals: totals.tenant?.usage.totals };
  }, [tenantId, filters, after]);
  const [groupBy, setGroupBy] = useState<UsageGroupBy | ''>('');
  const groups = useQuery(
    () => (groupBy === '' ? Promise.resolve(undefined) : api.execute(TenantUsageDocument, { tenantId, ...queryOf(filters), groupBy }).then((result) => result.tenant?.usage.buckets)),
    [tenantId, filters, groupBy],
  );
  const [exportError, setExportError] = useState<unknown>();
  const [exporting, setExporting] = useState(false);

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: keyof Filters) => String(form.get(name) ?? '').trim();
    setFilters({ from: value('from'), to: value('to'), model: value('model'), apiKeyId: value('apiKeyId'), userId: value('userId'), status: value('status') });
    setCursors([null]);
  };

  const exportAs = async (format: 'csv' | 'json') => {
    setExporting(true);
    setExportError(undefined);
    try {
      const { range, filter } = queryOf(filters);
      const rows: Record<string, unknown>[] = [];
      let cursor: string | null = null;
      do {
        const result: TenantUsageEventsQuery = await api.execute(TenantUsageEventsDocument, { tenantId, first: 100, after: cursor, filter, range });
        const connection = result.tenant?.usageEvents;
        for (const { node } of connection?.edges ?? []) rows.push({ ...node, cost: node.cost.amount, currency: node.cost.currency });
        cursor = connection?.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      } while (cursor !== null && rows.length < exportLimit);
      const name = `usage-${tenantId}-${filters.from}-${filters.to}`;
      if (format === 'csv') download(`${name}.csv`, 'text/csv', toCsv(columns, rows));
      else download(`${name}.json`, 'application/json', JSON.stringify(rows.map((row) => Object.fromEntries(columns.map((column) => [column, row[column] ?? null]))), null, 2));
    } catch (error) {
      reportIfSessionEnded(error);
      setExportError(error);
    } finally {
      setExporting(false);
    }
  };

  const rows = events.data?.page?.edges.map((edge) => edge.node) ?? [];
  const totals = events.data?.totals;
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <form className="filters" onSubmit={apply} aria-label="Usage filters">
        <label>
          From <input type="date" name="from" defaultValue={filters.from} required />
        </label>
        <label>
          To <input type="date" name="to" defaultValue={filters.to} required />
        </label>
        <label>
          Model <input name="model" defaultValue={filters.model} />
        </label>
        <label>
          API key <input name="apiKeyId" defaultValue={filters.apiKeyId} />
        </label>
        <label>
          User <input name="userId" defaultValue={filters.userId} />
        </label>
        <label>
          Status{' '}
          <select name="status" defaultValue={filters.status}>
            <option value="">any</option>
            {statuses.map((status) => (
              <option key={status} value={status}>
                {status.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Apply</button>
      </form>
      <div className="buttons">
        <button type="button" className="secondary" disabled={exporting} onClick={() => void exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" className="secondary" disabled={exporting} onClick={() => void exportAs('json')}>
          Export JSON
        </button>
      </div>
      <ErrorAlert error={events.error ?? exportError} />
      {totals && (
        <p aria-live="polite">
          {formatInt(totals.requests)} requests, {formatInt(totals.totalTokens)} tokens, {formatMoney(totals.cost)} for these filters.
        </p>
      )}
      <label className="inline">
        Group by{' '}
        <select value={groupBy} onChange={(event) => setGroupBy(event.target.value as UsageGroupBy | '')}>
          {groupings.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <ErrorAlert error={groups.error} />
      {groups.data && (
        <TableRegion label="Usage by group">
          <table>
            <caption>Usage by {groupings.find(([value]) => value === groupBy)?.[1]}</caption>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Requests</th>
                <th scope="col">Tokens</th>
                <th scope="col">Errors</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {groups.data.map((bucket) => (
                <tr key={bucket.key ?? bucket.start ?? '-'}>
                  <td>{bucket.key ?? formatTime(bucket.start)}</td>
                  <td>{formatInt(bucket.totals.requests)}</td>
                  <td>{formatInt(bucket.totals.totalTokens)}</td>
                  <td>{formatInt(bucket.totals.errors)}</td>
                  <td>{formatMoney(bucket.totals.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      {events.loading && events.data === undefined && <Loading what="usage events" />}
      {events.data && rows.length === 0 && <p className="empty">No requests match these filters.</p>}
      {rows.length > 0 && (
        <TableRegion label="Usage events">
          <table>
            <caption className="visually-hidden">Usage events</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Model</th>
                <th scope="col">Key</th>
                <th scope="col">User</th>
                <th scope="col">Status</th>
                <th scope="col">Tokens</th>
                <th scope="col">Latency</th>
                <th scope="col">Cost</th>
                <th scope="col">Request ID</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id}>
                  <td>{formatTime(row.timestamp)}</td>
                  <td>{row.requestedModel}</td>
                  <td>{row.apiKeyId ?? '—'}</td>
                  <td>{row.userId ?? '—'}</td>
                  <td>{row.status.toLowerCase()}{row.errorCode ? ` (${row.errorCode})` : ''}</td>
                  <td>{formatInt(row.totalTokens)}</td>
                  <td>{row.latencyMs} ms</td>
                  <td>{formatMoney(row.cost)}</td>
                  <td>
                    <code>{row.requestId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      <div className="buttons">
        <button type="button" className="secondary" disabled={cursors.length < 2} onClick={() => setCursors((list) => list.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!events.data?.page?.pageInfo.hasNextPage}
          onClick={() => {
            const next = events.data?.page?.pageInfo.endCursor;
            if (next) setCursors((list) => [...list, next]);
          }}
        >
          Next page
        </button>
      </div>
    </section>
  );
}
