import { useState, type FormEvent } from 'react';
import {
  RemoveProviderCredentialDocument,
  SetProviderCredentialDocument,
  TenantInferenceConfigDocument,
  TestProviderCredentialDocument,
  type TestProviderCredentialMutation,
} from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { formatTime } from '../format.ts';
import { reportIfSessionEnded } from '../session-ended.ts';
import { useQuery } from '../use-query.ts';
import { canManage, useViewer } from '../viewer.ts';

/** Tenants' own keys for the gateway's providers: set, test, remove. Only their last four characters come back. */
export function Credentials({ tenantId }: { tenantId: string }) {
  const manage = canManage(useViewer());
  const config = useQuery(() => api.execute(TenantInferenceConfigDocument, { tenantId }), [tenantId]);
  const [error, setError] = useState<unknown>();
  const [tested, setTested] = useState<TestProviderCredentialMutation['testProviderCredential']>();

  const run = async (action: () => Promise<void>) => {
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      reportIfSessionEnded(failure);
      setError(failure);
    }
  };
  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    void run(async () => {
      await api.execute(SetProviderCredentialDocument, { input: { tenantId, provider: String(data.get('provider')), apiKey: String(data.get('apiKey')) } });
      form.reset();
      config.reload();
    });
  };

  const credentials = config.data?.tenant?.providerCredentials ?? [];
  return (
    <section aria-labelledby="credentials-title">
      <h1 id="credentials-title">Provider credentials</h1>
      <ErrorAlert error={config.error ?? error} />
      {config.loading && config.data === undefined && <Loading what="credentials" />}
      {config.data && credentials.length === 0 && <p className="empty">The gateway has no providers configured.</p>}
      {credentials.length > 0 && (
        <TableRegion label="Provider credentials">
          <table>
            <caption className="visually-hidden">Provider credentials</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Key</th>
                <th scope="col">Updated</th>
                {manage && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {credentials.map((credential) => (
                <tr key={credential.provider}>
                  <td>{credential.provider}</td>
                  <td>{credential.configured ? <code>…{credential.last4}</code> : 'not set'}</td>
                  <td>{formatTime(credential.updatedAt)}</td>
                  {manage && (
                    <td className="actions">
                      {credential.configured && (
                        <>
                          <button
                            type="button"
                            className="secondary"
                            aria-label={`Test ${credential.provider}`}
                            onClick={() => void run(async () => setTested((await api.execute(TestProviderCredentialDocument, { tenantId, provider: credential.provider })).testProviderCredential))}
                          >
                            Test
                          </button>
                          <button
                            type="button"
                            className="danger"
                            aria-label={`Remove ${credential.provider}`}
                            onClick={() =>
                              void run(async () => {
                                await api.execute(RemoveProviderCredentialDocument, { tenantId, provider: credential.provider });
                                config.reload();
                              })
                            }
                          >
                            Remove
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
      {tested && (
        <p role="status">
          {tested.provider}: {tested.ok ? 'the key works' : `the key failed: ${tested.message ?? 'no detail'}`}
          {tested.latencyMs !== null ? ` (${tested.latencyMs} ms)` : ''}
        </p>
      )}
      {manage && credentials.length > 0 && (
        <form className="card stack" onSubmit={save} aria-labelledby="set-credential-title">
          <h2 id="set-credential-title">Set a credential</h2>
          <label htmlFor="credential-provider">Provider</label>
          <select id="credential-provider" name="provider">
            {credentials.map((credential) => (
              <option key={credential.provider}>{credential.provider}</option>
            ))}
          </select>
          <label htmlFor="credential-key">API key</label>
          <input id="credential-key" name="apiKey" type="password" autoComplete="off" required />
          <button type="submit">Save credential</button>
        </form>
      )}
    </section>
  );
}
