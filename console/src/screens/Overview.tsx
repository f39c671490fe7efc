import { useEffect, useState, type FormEvent } from 'react';
import { SetTenantLimitsDocument, TenantLimitsDocument, TenantQuotaDocument, TenantUsageDocument, type UsageGroupBy } from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { BarChart } from '../components/BarChart.tsx';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { QuotaGauge } from '../components/QuotaGauge.tsx';
import { formatInt, formatMoney } from '../format.ts';
import { reportIfSessionEnded } from '../session-ended.ts';
import { useQuery } from '../use-query.ts';
import { useViewer } from '../viewer.ts';

const ranges = {
  '24h': { label: 'Last 24 hours', hours: 24, groupBy: 'HOUR' },
  '7d': { label: 'Last 7 days', hours: 24 * 7, groupBy: 'DAY' },
  '30d': { label: 'Last 30 days', hours: 24 * 30, groupBy: 'DAY' },
} as const satisfies Record<string, { label: string; hours: number; groupBy: UsageGroupBy }>;
type RangeKey = keyof typeof ranges;

/** The range ends at the next whole hour, so the current hour's requests are in it. */
function rangeOf(key: RangeKey) {
  const to = new Date();
  to.setUTCMinutes(0, 0, 0);
  to.setUTCHours(to.getUTCHours() + 1);
  return { from: new Date(to.getTime() - ranges[key].hours * 3_600_000).toISOString(), to: to.toISOString() };
}

const refreshMs = 5_000;

export function Overview({ tenantId }: { tenantId: string }) {
  const [rangeKey, setRangeKey] = useState<RangeKey>('24h');
  const usage = useQuery(async () => {
    const range = rangeOf(rangeKey);
    const [byTime, byModel] = await Promise.all([
      api.execute(TenantUsageDocument, { tenantId, range, groupBy: ranges[rangeKey].groupBy }),
      api.execute(TenantUsageDocument, { tenantId, range, groupBy: 'MODEL' }),
    ]);
    return { byTime: byTime.tenant?.usage, byModel: byModel.tenant?.usage };
  }, [tenantId, rangeKey]);
  // Usage settles within seconds of a request; the figures follow without a reload.
  const { reload } = usage;
  useEffect(() => {
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [reload]);

  const totals = usage.data?.byTime?.totals;
  const errorRate = totals && totals.requests > 0 ? ((totals.errors / totals.requests) * 100).toFixed(1) + '%' : '—';
  const cacheRate = totals && totals.requests > 0 ? ((totals.cacheHits / totals.requests) * 100).toFixed(1) + '%' : '—';
  const label = (start: string | null) => (start ? (rangeKey === '24h' ? start.slice(11, 16) : start.slice(5, 10)) : '');

  return (
    <section aria-labelledby="overview-title">
      <div className="title-row">
        <h1 id="overview-title">Overview</h1>
        <label className="inline">
          Range{' '}
          <select value={rangeKey} onChange={(event) => setRangeKey(event.target.value as RangeKey)}>
            {Object.entries(ranges).map(([key, range]) => (
              <option key={key} value={key}>
                {range.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorAlert error={usage.error} />
      {usage.loading && usage.data === undefined && <Loading what="usage" />}
      {totals && (
        <>
          <div className="stats">
            <Stat id="total-requests" label="Total requests" value={formatInt(totals.requests)} />
            <Stat id="total-tokens" label="Total tokens" value={formatInt(totals.totalTokens)} />
            <Stat id="total-cost" label="Cost" value={formatMoney(totals.cost)} />
            <Stat id="latency" label="Latency p50 / p95" value={totals.latency ? `${totals.latency.p50Ms} / ${totals.latency.p95Ms} ms` : '—'} />
            <Stat id="error-rate" label="Error rate" value={errorRate} />
            <Stat id="cache-rate" label="Cache hit rate" value={cacheRate} />
          </div>
          {totals.requests === 0 && <p className="empty">No requests in this range yet.</p>}
          <div className="charts">
            <BarChart title="Requests" bars={(usage.data?.byTime?.buckets ?? []).map((bucket) => ({ label: label(bucket.start), value: bucket.totals.requests }))} />
            <BarChart title="Tokens" bars={(usage.data?.byTime?.buckets ?? []).map((bucket) => ({ label: label(bucket.start), value: bucket.totals.totalTokens }))} />
          </div>
          <ByModel buckets={usage.data?.byModel?.buckets ?? []} />
        </>
      )}
      <Quota tenantId={tenantId} />
      <Headroom tenantId={tenantId} />
    </section>
  );
}

function Stat({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div className="stat">
      <label htmlFor={id}>{label}</label>
      <output id={id}>{value}</output>
    </div>
  );
}

type ModelBucket = { key: string | null; totals: { requests: number; totalTokens: number; cost: { amount: string; currency: string } | null } };

function ByModel({ buckets }: { buckets: ModelBucket[] }) {
  if (buckets.length === 0) return null;
  return (
    <TableRegion label="By model">
      <table>
        <caption>By model</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Requests</th>
            <th scope="col">Tokens</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {buckets.map((bucket) => (
            <tr key={bucket.key ?? '-'}>
              <td>{bucket.key ?? '—'}</td>
              <td>{formatInt(bucket.totals.requests)}</td>
              <td>{formatInt(bucket.totals.totalTokens)}</td>
              <td>{formatMoney(bucket.totals.cost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}

/** Loaded once, then moved by quotaUpdated events as the tenant crosses 80% and 100%. */
function Quota({ tenantId }: { tenantId: string }) {
  const quota = useQuery(() => api.execute(TenantQuotaDocument, { id: tenantId }), [tenantId]);
  const [live, setLive] = useState<{ used: number; limit: number }>();
  const [liveError, setLiveError] = useState<unknown>();
  useEffect(() => {
    const controller = new AbortController();
    setLive(undefined);
    void (async () => {
      try {
        for await (const update of api.watchQuota(tenantId, { signal: controller.signal })) setLive({ used: update.used, limit: update.limit });
      } catch (error) {
        if (controller.signal.aborted) return;
        reportIfSessionEnded(error);
        setLiveError(error);
      }
    })();
    return () => controller.abort();
  }, [tenantId]);
  const current = live ?? quota.data?.tenant?.quota;
  return (
    <section aria-labelledby="quota-title" className="card">
      <h2 id="quota-title">Monthly quota</h2>
      <ErrorAlert error={quota.error ?? liveError} />
      {current === undefined ? quota.loading && <Loading what="quota" /> : <QuotaGauge used={current.used} limit={current.limit} />}
    </section>
  );
}

/** What is left of a rate limit, as the store counts it across every instance. */
function windowText(window: { limit: number; remaining: number; resetSeconds: number } | null | undefined): string {
  if (window === undefined) return 'unknown: the limits store is unreachable';
  if (window === null) return 'no limit';
  return `${formatInt(window.remaining)} of ${formatInt(window.limit)}, full again in ${window.resetSeconds} s`;
}

/** The limits in force and what is left of them; the platform may override the plan's per tenant (an empty field keeps the plan's). */
function Headroom({ tenantId }: { tenantId: string }) {
  const platform = useViewer().kind === 'PLATFORM_ADMIN';
  const limits = useQuery(() => api.execute(TenantLimitsDocument, { id: tenantId }), [tenantId]);
  const [error, setError] = useState<unknown>();
  const value = limits.data?.tenant?.limits;
  const headroom = limits.data?.tenant?.rateLimitHeadroom;
  // The windows move every second: read them again while the page is open.
  const { reload } = limits;
  useEffect(() => {
    const timer = setInterval(reload, 5_000);
    return () => clearInterval(timer);
  }, [reload]);

  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const field = (name: string) => {
      const text = String(data.get(name) ?? '').trim();
      return text === '' ? null : Number(text);
    };
    setError(undefined);
    try {
      await api.execute(SetTenantLimitsDocument, {
        tenantId,
        limits: { requestsPerMinute: field('requestsPerMinute'), tokensPerMinute: field('tokensPerMinute'), concurrentRequests: field('concurrentRequests') },
      });
      limits.reload();
    } catch (failure) {
      reportIfSessionEnded(failure);
      setError(failure);
    }
  };

  return (
    <section aria-labelledby="headroom-title" className="card">
      <h2 id="headroom-title">Rate limits</h2>
      <ErrorAlert error={limits.error ?? error} />
      {value && (
        <dl className="pairs">
          <dt>Requests per minute</dt>
          <dd>{value.requestsPerMinute === null ? 'no limit' : formatInt(value.requestsPerMinute)}</dd>
          <dt>Tokens per minute</dt>
          <dd>{value.tokensPerMinute === null ? 'no limit' : formatInt(value.tokensPerMinute)}</dd>
          <dt>Requests left this window</dt>
          <dd aria-label="Requests left">{windowText(headroom?.requests)}</dd>
          <dt>Tokens left this window</dt>
          <dd aria-label="Tokens left">{windowText(headroom?.tokens)}</dd>
          <dt>Concurrent requests</dt>
          <dd>{value.concurrentRequests === null ? 'no limit' : formatInt(value.concurrentRequests)}</dd>
          <dt>Overridden</dt>
          <dd>{value.overridden.length > 0 ? value.overridden.join(', ') : 'none: the plan decides'}</dd>
        </dl>
      )}
      {platform && value && (
        <form className="filters" onSubmit={(event) => void save(event)} aria-label="Override limits" key={value.overridden.join()}>
          <label>
            Requests per minute override <input name="requestsPerMinute" type="number" min={1} defaultValue={value.overridden.includes('requestsPerMinute') ? (value.requestsPerMinute ?? '') : ''} />
          </label>
          <label>
            Tokens per minute override <input name="tokensPerMinute" type="number" min={1} defaultValue={value.overridden.includes('tokensPerMinute') ? (value.tokensPerMinute ?? '') : ''} />
          </label>
          <label>
            Concurrent requests override <input name="concurrentRequests" type="number" min={1} defaultValue={value.overridden.includes('concurrentRequests') ? (value.concurrentRequests ?? '') : ''} />
          </label>
          <button type="submit">Save limits</button>
        </form>
      )}
    </section>
  );
}
