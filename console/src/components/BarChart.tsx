/** A bar per bucket, drawn as SVG; the table beside it carries the same figures for screen readers. */
export function BarChart({ title, bars }: { title: string; bars: { label: string; value: number }[] }) {
  const width = 640;
  const height = 160;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const step = bars.length > 0 ? width / bars.length : width;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height + 4}`} role="img" aria-label={`${title}: ${bars.reduce((sum, bar) => sum + bar.value, 0)} in total`} preserveAspectRatio="none">
        <line x1={0} y1={height} x2={width} y2={height} className="axis" />
        {bars.map((bar, index) => {
          const barHeight = (bar.value / max) * height;
          return (
            <rect key={bar.label} x={index * step + step * 0.1} y={height - barHeight} width={step * 0.8} height={barHeight} className="bar">
              <title>{`${bar.label}: ${bar.value}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
