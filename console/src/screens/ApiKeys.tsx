import { useState, type FormEvent } from 'react';
import {
  CreateApiKeyDocument,
  RevokeApiKeyDocument,
  RotateApiKeyDocument,
  TenantApiKeysDocument,
  type ApiKeyFieldsFragment,
  type ApiKeyScope,
} from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { Dialog } from '../components/Dialog.tsx';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { formatTime } from '../format.ts';
import { reportIfSessionEnded } from '../session-ended.ts';
import { useQuery } from '../use-query.ts';
import { canManage, useViewer } from '../viewer.ts';

const scopeLabels: Record<ApiKeyScope, string> = { INFERENCE: 'inference', USAGE_READ: 'usage:read', ADMIN: 'admin' };

type Pending = { kind: 'create' } | { kind: 'revoke'; key: ApiKeyFieldsFragment } | { kind: 'rotate'; key: ApiKeyFieldsFragment } | { kind: 'secret'; name: string; secret: string } | undefined;

export function ApiKeys({ tenantId }: { tenantId: string }) {
  const manage = canManage(useViewer());
  // Listing keys is for tenant admins; others are told so rather than shown a refusal.
  const keys = useQuery(() => (manage ? api.execute(TenantApiKeysDocument, { tenantId, first: 100 }) : Promise.resolve(undefined)), [tenantId, manage]);
  const [pending, setPending] = useState<Pending>();
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
    const form = new FormData(event.currentTarget);
    const scopes = form.getAll('scopes').map(String) as ApiKeyScope[];
    const expires = String(form.get('expiresAt') ?? '');
    void run(async () => {
      const { createApiKey } = await api.execute(CreateApiKeyDocument, {
        input: { tenantId, name: String(form.get('name') ?? ''), scopes, expiresAt: expires ? new Date(`${expires}T00:00:00Z`).toISOString() : null },
      });
      setPending({ kind: 'secret', name: createApiKey.apiKey.name, secret: createApiKey.secret });
      keys.reload();
    });
  };

  const rotate = (event: FormEvent<HTMLFormElement>, key: ApiKeyFieldsFragment) => {
    event.preventDefault();
    const grace = Number(new FormData(event.currentTarget).get('grace') ?? 0);
    void run(async () => {
      const { rotateApiKey } = await api.execute(RotateApiKeyDocument, { id: key.id, gracePeriodSeconds: grace });
      setPending({ kind: 'secret', name: rotateApiKey.apiKey.name, secret: rotateApiKey.secret });
      keys.reload();
    });
  };

  const revoke = (key: ApiKeyFieldsFragment) =>
    void run(async () => {
      await api.execute(RevokeApiKeyDocument, { id: key.id });
      setPending(undefined);
      keys.reload();
    });

  const rows = keys.data?.tenant?.apiKeys.edges.map((edge) => edge.node) ?? [];
  return (
    <section aria-labelledby="keys-title">
      <div className="title-row">
        <h1 id="keys-title">API keys</h1>
        {manage && (
          <button type="button" onClick={() => setPending({ kind: 'create' })}>
            Create key
          </button>
        )}
      </div>
      {!manage && <p className="empty">Only the tenant's admins see and manage its API keys.</p>}
      <ErrorAlert error={keys.error ?? error} />
      {keys.loading && keys.data === undefined && <Loading what="API keys" />}
      {keys.data && rows.length === 0 && <p className="empty">No API keys yet.{manage ? ' Create one to call the gateway.' : ''}</p>}
      {rows.length > 0 && (
        <TableRegion label="API keys">
          <table>
            <caption className="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scopes</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                {manage && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>{key.scopes.map((scope) => scopeLabels[scope]).join(', ')}</td>
                  <td>{key.status.toLowerCase()}</td>
                  <td>{formatTime(key.createdAt)}</td>
                  <td>{formatTime(key.expiresAt)}</td>
                  <td>{formatTime(key.lastUsedAt)}</td>
                  {manage && (
                    <td className="actions">
                      {key.status === 'ACTIVE' && (
                        <>
                          <button type="button" className="secondary" onClick={() => setPending({ kind: 'rotate', key })} aria-label={`Rotate ${key.name}`}>
                            Rotate
                          </button>
                          <button type="button" className="danger" onClick={() => setPending({ kind: 'revoke', key })}>
                            Revoke
                          </button>
                        </>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}

      {pending?.kind === 'create' && (
        <Dialog title="Create an API key" onClose={() => setPending(undefined)}>
          <form onSubmit={create} className="stack">
            <label htmlFor="key-name">Name</label>
            <input id="key-name" name="name" required maxLength={200} />
            <fieldset>
              <legend>Scopes</legend>
              {(Object.keys(scopeLabels) as ApiKeyScope[]).map((scope) => (
                <label key={scope} className="inline">
                  <input type="checkbox" name="scopes" value={scope} defaultChecked={scope !== 'ADMIN'} /> {scopeLabels[scope]}
                </label>
              ))}
            </fieldset>
            <label htmlFor="key-expires">Expires (optional)</label>
            <input id="key-expires" name="expiresAt" type="date" />
            <ErrorAlert error={error} />
            <div className="buttons">
              <button type="button" className="secondary" onClick={() => setPending(undefined)}>
                Cancel
              </button>
              <button type="submit">Create</button>
            </div>
          </form>
        </Dialog>
      )}

      {pending?.kind === 'secret' && (
        <Dialog title={`Secret of ${pending.name}`} onClose={() => setPending(undefined)}>
          <p className="warning">Copy it now: it will not be shown again.</p>
          <label htmlFor="new-secret">New secret</label>
          <input id="new-secret" readOnly value={pending.secret} className="secret" onFocus={(event) => event.currentTarget.select()} />
          <div className="buttons">
            <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(pending.secret)}>
              Copy
            </button>
            <button type="button" onClick={() => setPending(undefined)}>
              Done
            </button>
          </div>
        </Dialog>
      )}

      {pending?.kind === 'rotate' && (
        <Dialog title={`Rotate ${pending.key.name}`} onClose={() => setPending(undefined)}>
          <form onSubmit={(event) => rotate(event, pending.key)} className="stack">
            <p>A new secret replaces the current one. The old secret keeps working for the grace period.</p>
            <label htmlFor="grace">Grace period (seconds)</label>
            <input id="grace" name="grace" type="number" min={0} max={604800} defaultValue={3600} required />
            <ErrorAlert error={error} />
            <div className="buttons">
              <button type="button" className="secondary" onClick={() => setPending(undefined)}>
                Cancel
              </button>
              <button type="submit">Rotate</button>
            </div>
          </form>
        </Dialog>
      )}

      {pending?.kind === 'revoke' && (
        <Dialog title={`Revoke ${pending.key.name}?`} onClose={() => setPending(undefined)}>
          <p>
            Requests with <code>{pending.key.prefix}…</code> are refused at once, and consoles signed in with it are signed out. This cannot be undone.
          </p>
          <ErrorAlert error={error} />
          <div className="buttons">
            <button type="button" className="secondary" onClick={() => setPending(undefined)}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => revoke(pending.key)}>
              Revoke
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
