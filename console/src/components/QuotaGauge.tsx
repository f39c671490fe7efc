import { formatInt } from '../format.ts';

/** Month-to-date tokens against the plan's quota, with the 80% and 100% marks alerts fire at. */
export function QuotaGauge({ used, limit }: { used: number; limit: number }) {
  const percent = limit > 0 ? (used / limit) * 100 : 0;
  // The bar's scale runs to 120% so overage stays visible past the 100% mark.
  const scale = (value: number) => Math.min(value, 120) * (300 / 120);
  const state = percent >= 100 ? 'exceeded' : percent >= 80 ? 'warning' : 'ok';
  return (
    <div className="gauge">
      <div role="meter" aria-label="Monthly tokens used" aria-valuemin={0} aria-valuemax={limit} aria-valuenow={used} aria-valuetext={`${formatInt(used)} of ${formatInt(limit)} tokens (${percent.toFixed(1)}%)`}>
        <svg viewBox="0 0 300 28" aria-hidden="true" preserveAspectRatio="xMinYMid meet">
          <rect x={0} y={6} width={300} height={16} className="gauge-track" />
          <rect x={0} y={6} width={scale(percent)} height={16} className={`gauge-fill gauge-${state}`} />
          <line x1={scale(80)} y1={0} x2={scale(80)} y2={28} className="gauge-mark" />
          <line x1={scale(100)} y1={0} x2={scale(100)} y2={28} className="gauge-mark" />
        </svg>
      </div>
      <p>
        <output aria-label="Quota used">{percent.toFixed(1)}%</output> of {formatInt(limit)} tokens ({formatInt(used)} used) — marks at 80% and 100%
      </p>
    </div>
  );
}
