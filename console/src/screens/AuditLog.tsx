import { useState } from 'react';
import { AuditLogDocument } from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { formatTime } from '../format.ts';
import { useQuery } from '../use-query.ts';

export function AuditLog({ tenantId }: { tenantId: string }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const log = useQuery(() => api.execute(AuditLogDocument, { tenantId, first: 50, after }), [tenantId, after]);
  const rows = log.data?.auditLog.edges.map((edge) => edge.node) ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <ErrorAlert error={log.error} />
      {log.loading && log.data === undefined && <Loading what="the audit log" />}
      {log.data && rows.length === 0 && <p className="empty">Nothing has changed yet.</p>}
      {rows.length > 0 && (
        <TableRegion label="Audit log">
          <table>
            <caption className="visually-hidden">Audit log</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
                <th scope="col">Request ID</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id}>
                  <td>{formatTime(row.at)}</td>
                  <td>
                    {row.actorType} {row.actorId}
                  </td>
                  <td>{row.action}</td>
                  <td>{row.target ?? '—'}</td>
                  <td>
                    <code>{row.details}</code>
                  </td>
                  <td>{row.requestId ? <code>{row.requestId}</code> : '—'}</td>
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
          disabled={!log.data?.auditLog.pageInfo.hasNextPage}
          onClick={() => {
            const next = log.data?.auditLog.pageInfo.endCursor;
            if (next) setCursors((list) => [...list, next]);
          }}
        >
          Next page
        </button>
      </div>
    </section>
  );
}
