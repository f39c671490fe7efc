import { ModelsDocument, ProvidersDocument } from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { formatTime } from '../format.ts';
import { useQuery } from '../use-query.ts';

/** The models clients may ask for, and each deployment's health and circuit breaker. */
export function Models() {
  const models = useQuery(() => api.execute(ModelsDocument), []);
  const deployments = useQuery(() => api.execute(ProvidersDocument), []);
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      <ErrorAlert error={models.error ?? deployments.error} />
      {(models.loading || deployments.loading) && models.data === undefined && <Loading what="models" />}
      {models.data && models.data.models.length === 0 && <p className="empty">No models are configured.</p>}
      {models.data && models.data.models.length > 0 && (
        <TableRegion label="Models">
          <table>
            <caption>Models</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Available</th>
                <th scope="col">Price in / out per million</th>
              </tr>
            </thead>
            <tbody>
              {models.data.models.map((model) => (
                <tr key={model.name}>
                  <td>{model.name}</td>
                  <td>{model.kind}</td>
                  <td>{model.available ? 'yes' : 'no'}</td>
                  <td>{model.price ? `${model.price.inputPerMillion} / ${model.price.outputPerMillion} ${model.price.currency}` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      {deployments.data && deployments.data.providers.length > 0 && (
        <TableRegion label="Deployments">
          <table>
            <caption>Deployments</caption>
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Serves</th>
                <th scope="col">Health</th>
                <th scope="col">Circuit</th>
                <th scope="col">In flight</th>
                <th scope="col">Latency</th>
                <th scope="col">Last checked</th>
              </tr>
            </thead>
            <tbody>
              {deployments.data.providers.map((deployment) => (
                <tr key={deployment.name}>
                  <td>
                    {deployment.name} <span className="muted">({deployment.provider} {deployment.model})</span>
                  </td>
                  <td>{deployment.servesModels.join(', ')}</td>
                  <td>{deployment.healthy === null ? 'unknown' : deployment.healthy ? 'healthy' : `unhealthy${deployment.lastError ? `: ${deployment.lastError}` : ''}`}</td>
                  <td>{deployment.breaker.toLowerCase().replace('_', ' ')}</td>
                  <td>{deployment.inflight}</td>
                  <td>{deployment.latencyMs === null ? '—' : `${deployment.latencyMs} ms`}</td>
                  <td>{formatTime(deployment.lastCheckedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}
