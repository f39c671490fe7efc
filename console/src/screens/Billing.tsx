import { useState, type FormEvent } from 'react';
import { EstimateCostDocument, InvoicePreviewDocument, ModelsDocument, type EstimateCostQuery } from '../../../client/src/generated/graphql.ts';
import { api } from '../api.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { TableRegion } from '../components/TableRegion.tsx';
import { formatInt, formatMoney, formatTime } from '../format.ts';
import { reportIfSessionEnded } from '../session-ended.ts';
import { useQuery } from '../use-query.ts';

/** This month's invoice as it stands (plan, overage, lines by model) and what a request would cost. */
export function Billing({ tenantId }: { tenantId: string }) {
  const invoice = useQuery(() => api.execute(InvoicePreviewDocument, { id: tenantId }), [tenantId]);
  const models = useQuery(() => api.execute(ModelsDocument), []);
  const [estimate, setEstimate] = useState<EstimateCostQuery['estimateCost']>();
  const [estimateError, setEstimateError] = useState<unknown>();
  const preview = invoice.data?.tenant?.invoicePreview;

  const estimateCost = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setEstimateError(undefined);
    try {
      const result = await api.execute(EstimateCostDocument, {
        input: { model: String(data.get('model')), promptTokens: Number(data.get('promptTokens')), maxTokens: Number(data.get('maxTokens')) },
      });
      setEstimate(result.estimateCost);
    } catch (error) {
      reportIfSessionEnded(error);
      setEstimateError(error);
    }
  };

  return (
    <section aria-labelledby="billing-title">
      <h1 id="billing-title">Billing</h1>
      <ErrorAlert error={invoice.error} />
      {invoice.loading && invoice.data === undefined && <Loading what="the invoice preview" />}
      {preview && (
        <div className="card">
          <h2>
            Invoice {preview.month} {preview.final ? '' : '(preview)'}
          </h2>
          <dl className="pairs">
            <dt>Plan</dt>
            <dd>{preview.planPeriods.map((period) => period.plan.name).join(', ') || '—'}</dd>
            <dt>Base fee</dt>
            <dd>{formatMoney(preview.baseFee)}</dd>
            <dt>Tokens included / used</dt>
            <dd>
              {preview.includedTokens === null ? 'unlimited' : formatInt(preview.includedTokens)} / {formatInt(preview.usedTokens)}
            </dd>
            <dt>Overage</dt>
            <dd>
              {formatInt(preview.overageTokens)} tokens at {formatMoney(preview.overageRatePerMillion)} per million: {formatMoney(preview.overageCharge)}
            </dd>
            <dt>Total</dt>
            <dd>
              <strong>{formatMoney(preview.total)}</strong>
            </dd>
            <dt>As of</dt>
            <dd>{formatTime(preview.asOf)}</dd>
          </dl>
          {preview.lines.length === 0 ? (
            <p className="empty">No usage this month yet.</p>
          ) : (
            <TableRegion label="Usage by model">
              <table>
                <caption>Usage by model</caption>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Requests</th>
                    <th scope="col">Tokens</th>
                    <th scope="col">Price-book value</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.lines.map((line) => (
                    <tr key={line.model}>
                      <td>{line.model}</td>
                      <td>{formatInt(line.requests)}</td>
                      <td>{formatInt(line.totalTokens)}</td>
                      <td>{line.priceBookValue.map(formatMoney).join(' + ') || '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )}
        </div>
      )}
      <form className="card stack" onSubmit={(event) => void estimateCost(event)} aria-labelledby="estimate-title">
        <h2 id="estimate-title">Estimate a request</h2>
        <label htmlFor="estimate-model">Model</label>
        <select id="estimate-model" name="model" required>
          {(models.data?.models ?? []).map((model) => (
            <option key={model.name}>{model.name}</option>
          ))}
        </select>
        <label htmlFor="estimate-prompt">Prompt tokens</label>
        <input id="estimate-prompt" name="promptTokens" type="number" min={0} defaultValue={1000} required />
        <label htmlFor="estimate-max">Max completion tokens</label>
        <input id="estimate-max" name="maxTokens" type="number" min={1} defaultValue={500} required />
        <button type="submit">Estimate</button>
        <ErrorAlert error={estimateError ?? models.error} />
        {estimate && <p role="status">{estimate.priced ? `At most ${formatMoney(estimate.cost)}` : `${estimate.model} has no price`}</p>}
      </form>
    </section>
  );
}
