import type { Registry } from 'prom-client';

// Counters, gauges and histograms for the request path. prom-client's own hash the label values on
// every inc() and observe(); these keep one plain state object per label set, found through nested
// maps keyed by the values themselves, so recording is a few map lookups and additions. The registry
// renders them with the rest at scrape time.

type Key = string | number;

interface Series {
  labels: Record<string, string>;
}

/** Label sets cached in nested maps: a lookup builds no label object and no joined key. */
class SeriesSet<S extends Series> {
  readonly all: S[] = [];
  readonly #root = new Map<Key, unknown>();
  readonly #labelNames: readonly string[];
  readonly #make: (labels: Record<string, string>) => S;

  constructor(labelNames: readonly string[], make: (labels: Record<string, string>) => S) {
    this.#labelNames = labelNames;
    this.#make = make;
  }

  get1(a: Key): S {
    return (this.#root.get(a) as S | undefined) ?? this.#put(this.#root, a, [a]);
  }

  get2(a: Key, b: Key): S {
    const last = this.#level(this.#root, a);
    return (last.get(b) as S | undefined) ?? this.#put(last, b, [a, b]);
  }

  get3(a: Key, b: Key, c: Key): S {
    const last = this.#level(this.#level(this.#root, a), b);
    return (last.get(c) as S | undefined) ?? this.#put(last, c, [a, b, c]);
  }

  get4(a: Key, b: Key, c: Key, d: Key): S {
    const last = this.#level(this.#level(this.#level(this.#root, a), b), c);
    return (last.get(d) as S | undefined) ?? this.#put(last, d, [a, b, c, d]);
  }

  #level(map: Map<Key, unknown>, key: Key): Map<Key, unknown> {
    let next = map.get(key) as Map<Key, unknown> | undefined;
    if (next === undefined) {
      next = new Map();
      map.set(key, next);
    }
    return next;
  }

  #put(map: Map<Key, unknown>, key: Key, values: Key[]): S {
    if (values.length !== this.#labelNames.length) throw new Error(`expected ${this.#labelNames.length} label values, got ${values.length}`);
    const series = this.#make(Object.fromEntries(this.#labelNames.map((name, i) => [name, String(values[i])])));
    map.set(key, series);
    this.all.push(series);
    return series;
  }
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

abstract class HotMetric<S extends Series> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  readonly series: SeriesSet<S>;

  constructor(options: { name: string; help: string; labelNames: readonly string[]; registry: Registry }, make: (labels: Record<string, string>) => S) {
    this.name = options.name;
    this.help = options.help;
    this.series = new SeriesSet(options.labelNames, make);
    options.registry.registerMetric(this as never);
  }

  abstract values(): MetricValue[];

  /** What prom-client's registry renders. */
  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }

  reset(): void {}
}

export interface ValueSeries extends Series {
  value: number;
}

export class HotCounter extends HotMetric<ValueSeries> {
  readonly type = 'counter';

  constructor(options: { name: string; help: string; labelNames: readonly string[]; registry: Registry }) {
    super(options, (labels) => ({ labels, value: 0 }));
  }

  values(): MetricValue[] {
    return this.series.all.map((s) => ({ labels: s.labels, value: s.value }));
  }
}

export class HotGauge extends HotMetric<ValueSeries> {
  readonly type = 'gauge';

  constructor(options: { name: string; help: string; labelNames: readonly string[]; registry: Registry }) {
    super(options, (labels) => ({ labels, value: 0 }));
  }

  values(): MetricValue[] {
    return this.series.all.map((s) => ({ labels: s.labels, value: s.value }));
  }
}

export interface HistogramSeries extends Series {
  /** Observations per bucket (not cumulative), plus one past the last bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class HotHistogram extends HotMetric<HistogramSeries> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(options: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[]; registry: Registry }) {
    super(options, (labels) => ({ labels, counts: new Float64Array(options.buckets.length + 1), sum: 0, count: 0 }));
    this.#bounds = options.buckets;
  }

  observe(series: HistogramSeries, value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]! += 1;
    series.sum += value;
    series.count += 1;
  }

  values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const s of this.series.all) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += s.counts[i]!;
        out.push({ metricName: `${this.name}_bucket`, labels: { le: bound, ...s.labels }, value: cumulative });
      });
      out.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
      out.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return out;
  }
}
