import type { Moments, VariantStats } from '../usage/index.ts';
import type { Variant } from './experiment.table.ts';
import { twoProportionZ, welchT, type TestResult } from './significance.ts';

export interface VariantResult {
  name: string;
  requests: number;
  errorRate: number | null;
  latencyMsP50: number | null;
  latencyMsP95: number | null;
  ttftMsP50: number | null;
  promptTokens: number;
  completionTokens: number;
  cost: { currency: string; micros: number };
  feedback: { metric: string; mean: number; count: number }[];
}

/** One metric of a variant against the baseline: b - a, and whether that is a finding. */
export interface Comparison {
  metric: string;
  baseline: string;
  variant: string;
  difference: number;
  pValue: number;
  /** p < 0.05 with at least minSample values on both sides. */
  significant: boolean;
}

export interface ExperimentResults {
  variants: VariantResult[];
  comparisons: Comparison[];
  recommendation: string;
}

/** Values each side needs before a difference is called significant. */
export const minSample = 30;
const alpha = 0.05;

const empty = (name: string): VariantStats => ({
  variant: name,
  requests: 0,
  errors: 0,
  latency: { count: 0, mean: 0, variance: 0, p50: null, p95: null },
  ttftP50: null,
  promptTokens: 0,
  completionTokens: 0,
  cost: { count: 0, mean: 0, variance: 0, totalMicros: 0, currency: 'USD' },
  feedback: [],
});

/**
 * Each variant against the baseline (the first): error rate by a two-proportion z-test, latency and
 * cost per request by Welch's t, feedback by z when every value is 0 or 1 (a rate) and by t otherwise.
 * Higher feedback is taken to be better.
 */
export function experimentVerdict(variants: readonly Variant[], stats: readonly VariantStats[]): ExperimentResults {
  const byName = new Map(stats.map((s) => [s.variant, s]));
  const arms = variants.map((variant) => byName.get(variant.name) ?? empty(variant.name));
  const baseline = arms[0]!;
  const comparisons: Comparison[] = [];
  for (const arm of arms.slice(1)) {
    const compare = (metric: string, result: TestResult, na: number, nb: number) =>
      comparisons.push({ metric, baseline: baseline.variant, variant: arm.variant, ...result, significant: result.pValue < alpha && na >= minSample && nb >= minSample });
    if (baseline.requests > 0 && arm.requests > 0) {
      compare('errorRate', twoProportionZ(baseline.errors, baseline.requests, arm.errors, arm.requests), baseline.requests, arm.requests);
      compare('costMicros', welchT(baseline.cost, arm.cost), baseline.cost.count, arm.cost.count);
    }
    if (enough(baseline.latency) && enough(arm.latency)) compare('latencyMs', welchT(baseline.latency, arm.latency), baseline.latency.count, arm.latency.count);
    for (const metric of arm.feedback) {
      const base = baseline.feedback.find((f) => f.metric === metric.metric);
      if (!base || !enough(base) || !enough(metric)) continue;
      const result =
        base.binary && metric.binary
          ? twoProportionZ(Math.round(base.mean * base.count), base.count, Math.round(metric.mean * metric.count), metric.count)
          : welchT(base, metric);
      compare(metric.metric, result, base.count, metric.count);
    }
  }
  return {
    variants: arms.map(toResult),
    comparisons,
    recommendation: arms
      .slice(1)
      .map((arm) => recommend(baseline, arm, comparisons.filter((c) => c.variant === arm.variant)))
      .join(' '),
  };
}

const enough = (moments: Moments) => moments.count >= 2;

function toResult(stats: VariantStats): VariantResult {
  return {
    name: stats.variant,
    requests: stats.requests,
    errorRate: stats.requests > 0 ? stats.errors / stats.requests : null,
    latencyMsP50: stats.latency.p50,
    latencyMsP95: stats.latency.p95,
    ttftMsP50: stats.ttftP50,
    promptTokens: stats.promptTokens,
    completionTokens: stats.completionTokens,
    cost: { currency: stats.cost.currency, micros: stats.cost.totalMicros },
    feedback: stats.feedback.map((f) => ({ metric: f.metric, mean: f.mean, count: f.count })),
  };
}

const count = (n: number) => n.toLocaleString('en-US');
const pValue = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

/** Lower error rate, latency and cost are better; higher feedback is better. */
const better = (comparison: Comparison) => (['errorRate', 'latencyMs', 'costMicros'].includes(comparison.metric) ? comparison.difference < 0 : comparison.difference > 0);

function describeDifference(comparison: Comparison): string {
  switch (comparison.metric) {
    case 'errorRate':
      return `error rate ${comparison.difference > 0 ? 'up' : 'down'} ${(Math.abs(comparison.difference) * 100).toFixed(1)} points`;
    case 'latencyMs':
      return `latency ${Math.abs(comparison.difference).toFixed(0)} ms ${comparison.difference > 0 ? 'slower' : 'faster'}`;
    default:
      return `${comparison.metric} ${comparison.difference > 0 ? 'up' : 'down'} ${Math.abs(comparison.difference).toPrecision(3)}`;
  }
}

/** One sentence per variant, e.g. "b costs 38% less than a with no significant change in error rate, thumbs_up (n = 4,210)." */
function recommend(baseline: VariantStats, arm: VariantStats, comparisons: Comparison[]): string {
  const n = `n = ${count(baseline.requests + arm.requests)}`;
  if (baseline.requests < minSample || arm.requests < minSample) {
    return `Not enough data for ${arm.variant}: ${arm.variant} has ${count(arm.requests)} requests and ${baseline.variant} ${count(baseline.requests)}; each needs ${minSample} before a difference is called significant.`;
  }
  const costChange = baseline.cost.mean > 0 ? (arm.cost.mean - baseline.cost.mean) / baseline.cost.mean : 0;
  const costWords =
    Math.abs(costChange) < 0.005 ? `${arm.variant} costs about the same as ${baseline.variant}` : `${arm.variant} costs ${Math.round(Math.abs(costChange) * 100)}% ${costChange < 0 ? 'less' : 'more'} than ${baseline.variant}`;
  const findings = comparisons.filter((c) => c.metric !== 'costMicros' && c.significant);
  const unchanged = comparisons.filter((c) => c.metric !== 'costMicros' && !c.significant).map((c) => (c.metric === 'errorRate' ? 'error rate' : c.metric === 'latencyMs' ? 'latency' : c.metric));
  const worse = findings.filter((c) => !better(c));
  const improved = findings.filter(better);
  const parts: string[] = [];
  if (worse.length > 0) parts.push(`significantly worse: ${worse.map((c) => `${describeDifference(c)} (${pValue(c.pValue)})`).join(', ')}`);
  if (improved.length > 0) parts.push(`significantly better: ${improved.map((c) => `${describeDifference(c)} (${pValue(c.pValue)})`).join(', ')}`);
  if (unchanged.length > 0) parts.push(`no significant change in ${unchanged.join(', ')}`);
  const advice = worse.length > 0 ? `Keep ${baseline.variant}.` : costChange < -0.005 || improved.length > 0 ? `${arm.variant} can take more traffic.` : 'No reason yet to change.';
  return `${costWords}${parts.length > 0 ? `; ${parts.join('; ')}` : ''} (${n}). ${advice}`;
}
