import { useState, type FormEvent } from 'react';
import { CreateTenantDocument, PlansDocument, SetTenantPlanDocument, TenantsDocument, UsageTopTenantsDocument } from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { formatInt, formatMoney } from '../format.ts';
import { href, navigate } from '../router.ts';
import { reportIfSessionEnded } from '../session-ended.ts';
import { useQuery } from '../use-query.ts';

function monthToDate() {
  const now = new Date();
  return { from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(), to: new Date(now.getTime() + 60_000).toISOString() };
}

/** Every tenant with its plan and month-to-date usage; create one, change a plan. */
export function Tenants() {
  const tenants = useQuery(() => api.execute(TenantsDocument, { first: 100 }), []);
  const plans = useQuery(() => api.execute(PlansDocument), []);
  const top = useQuery(() => api.execute(UsageTopTenantsDocument, { range: monthToDate(), by: 'TOKENS', first: 100 }), []);
  const [search, setSearch] = useState('');
  const [error, setError] = useState<unknown>();

  const run = async (action: () => Promise<void>) => {
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      reportIfSessionEnded(failure);
      setError(failure);
    }
  };
  const create = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    void run(async () => {
      await api.execute(CreateTenantDocument, { input: { name: String(data.get('name')), plan: String(data.get('plan')) } });
      form.reset();
      tenants.reload();
    });
  };

  const usageOf = new Map((top.data?.usageTopTenants ?? []).map((row) => [row.tenantId, row.totals]));
  const needle = search.trim().toLowerCase();
  const rows = (tenants.data?.tenants.edges.map((edge) => edge.node) ?? []).filter((tenant) => !needle || tenant.name.toLowerCase().includes(needle) || tenant.id.toLowerCase().includes(needle));
  return (
    <section aria-labelledby="tenants-title">
      <h1 id="tenants-title">Tenants</h1>
      <label htmlFor="tenant-search">Search tenants</label>
      <input id="tenant-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      <ErrorAlert error={tenants.error ?? top.error ?? plans.error ?? error} />
      {tenants.loading && tenants.data === undefined && <Loading what="tenants" />}
      {tenants.data && rows.length === 0 && <p className="empty">{needle ? 'No tenant matches.' : 'No tenants yet.'}</p>}
      {rows.length > 0 && (
        <TableRegion label="Tenants">
          <table>
            <caption className="visually-hidden">Tenants</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Plan</th>
                <th scope="col">Tokens this month</th>
                <th scope="col">Cost this month</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((tenant) => {
                const to = `/t/${encodeURIComponent(tenant.id)}/overview`;
                const usage = usageOf.get(tenant.id);
                return (
                  <tr key={tenant.id}>
                    <td>
                      <a
                        href={href(to)}
                        onClick={(event) => {
                          event.preventDefault();
                          navigate(to);
                        }}
                      >
                        {tenant.name}
                      </a>{' '}
                      <code className="muted">{tenant.id}</code>
                    </td>
                    <td>{tenant.status.toLowerCase()}</td>
                    <td>
                      <select
                        aria-label={`Plan of ${tenant.name}`}
                        value={tenant.plan.id}
                        onChange={(event) =>
                          void run(async () => {
                            await api.execute(SetTenantPlanDocument, { tenantId: tenant.id, plan: event.target.value });
                            tenants.reload();
                          })
                        }
                      >
                        {(plans.data?.plans ?? [tenant.plan]).map((plan) => (
                          <option key={plan.id} value={plan.id}>
                            {plan.name}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>{formatInt(usage?.totalTokens ?? 0)}</td>
                    <td>{formatMoney(usage?.cost)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableRegion>
      )}
      {(top.data?.usageTopTenants.length ?? 0) > 0 && (
        <TableRegion label="Top tenants this month">
          <table>
            <caption>Top tenants this month, by tokens</caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Requests</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {top.data?.usageTopTenants.slice(0, 10).map((row) => (
                <tr key={row.tenantId}>
                  <td>{row.tenant?.name ?? row.tenantId}</td>
                  <td>{formatInt(row.totals.requests)}</td>
                  <td>{formatInt(row.totals.totalTokens)}</td>
                  <td>{row.totals.costs.map(formatMoney).join(' + ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      <form className="card stack" onSubmit={create} aria-labelledby="create-tenant-title">
        <h2 id="create-tenant-title">Create a tenant</h2>
        <label htmlFor="tenant-name">Tenant name</label>
        <input id="tenant-name" name="name" required maxLength={200} />
        <label htmlFor="tenant-plan">Plan</label>
        <select id="tenant-plan" name="plan" defaultValue="free">
          {(plans.data?.plans ?? []).map((plan) => (
            <option key={plan.id} value={plan.id}>
              {plan.name}
            </option>
          ))}
        </select>
        <button type="submit">Create tenant</button>
      </form>
    </section>
  );
}
