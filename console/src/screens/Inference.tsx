import { useState, type FormEvent } from 'react';
import { TenantInferenceConfigDocument, UpdateInferenceConfigDocument } from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { formatTime } from '../format.ts';
import { reportIfSessionEnded } from '../session-ended.ts';
import { useQuery } from '../use-query.ts';
import { canManage, useViewer } from '../viewer.ts';

const listOf = (text: string) =>
  text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);

/** Preferred provider, failover, model overrides ("name = target" lines), allow-list and caching. */
export function Inference({ tenantId }: { tenantId: string }) {
  const manage = canManage(useViewer());
  const config = useQuery(() => api.execute(TenantInferenceConfigDocument, { tenantId }), [tenantId]);
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const current = config.data?.tenant?.inferenceConfig;
  const providers = config.data?.tenant?.providerCredentials.map((credential) => credential.provider) ?? [];

  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setError(undefined);
    setSaved(false);
    try {
      const allowed = listOf(String(data.get('allowedModels') ?? ''));
      const overrides = String(data.get('overrides') ?? '')
        .split('\n')
        .map((line) => line.split('=').map((part) => part.trim()))
        .filter((parts) => parts.length === 2 && parts[0] && parts[1])
        .map(([model, target]) => ({ model: model!, target: target! }));
      await api.execute(UpdateInferenceConfigDocument, {
        input: {
          tenantId,
          preferredProvider: String(data.get('preferredProvider') ?? '') || null,
          autoFailover: data.get('autoFailover') === 'on',
          cacheEnabled: data.get('cacheEnabled') === 'on',
          allowedModels: allowed.length > 0 ? allowed : null,
          modelOverrides: overrides,
        },
      });
      setSaved(true);
      config.reload();
    } catch (failure) {
      reportIfSessionEnded(failure);
      setError(failure);
    }
  };

  return (
    <section aria-labelledby="inference-title">
      <h1 id="inference-title">Inference</h1>
      <ErrorAlert error={config.error ?? error} />
      {config.loading && config.data === undefined && <Loading what="inference settings" />}
      {current && (
        <form className="card stack" onSubmit={(event) => void save(event)} key={current.updatedAt ?? 'default'}>
          <fieldset disabled={!manage}>
            <legend className="visually-hidden">Inference settings</legend>
            <label htmlFor="preferred-provider">Preferred provider</label>
            <select id="preferred-provider" name="preferredProvider" defaultValue={current.preferredProvider ?? ''}>
              <option value="">no preference</option>
              {providers.map((provider) => (
                <option key={provider}>{provider}</option>
              ))}
            </select>
            <label className="inline">
              <input type="checkbox" name="autoFailover" defaultChecked={current.autoFailover} /> Fail over to other providers
            </label>
            <label className="inline">
              <input type="checkbox" name="cacheEnabled" defaultChecked={current.cacheEnabled} /> Cache identical requests
            </label>
            <label htmlFor="allowed-models">Allowed models (comma-separated; empty allows all)</label>
            <input id="allowed-models" name="allowedModels" defaultValue={(current.allowedModels ?? []).join(', ')} />
            <label htmlFor="overrides">Model overrides (one "model = target" a line)</label>
            <textarea id="overrides" name="overrides" rows={4} defaultValue={current.modelOverrides.map((o) => `${o.model} = ${o.target}`).join('\n')} />
            {manage && <button type="submit">Save</button>}
          </fieldset>
          <p className="muted">Last changed {formatTime(current.updatedAt)}</p>
          {saved && <p role="status">Saved.</p>}
        </form>
      )}
    </section>
  );
}
