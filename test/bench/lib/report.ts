import { median } from './load.ts';

/** One measured run of one profile against one target. */
export interface Run {
  profile: string;
  target: string;
  round: number;
  completed: number;
  failed: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  ttftP50Ms: number | null;
  ttftP99Ms: number | null;
  cpuUsPerRequest: number | null;
  peakRssMiB: number;
  /** The gateway's GC pauses during the run (every kind); null for the other targets. */
  gc?: { pauses: number; pauseMs: number; over1Ms: number } | null;
}

interface Summary {
  profile: string;
  target: string;
  rounds: number;
  failed: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Median over rounds of (this target - direct) in the same round. */
  addedP50Ms: number | null;
  addedP99Ms: number | null;
  ttftP50Ms: number | null;
  addedTtftP50Ms: number | null;
  cpuUsPerRequest: number | null;
  peakRssMiB: number;
}

interface Check {
  target: string;
  value: number;
  limit: string;
  pass: boolean;
}

const med = (values: (number | null)[]) => {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length === 0 ? null : median(present);
};

function summarise(runs: Run[]): Summary[] {
  const keys = [...new Set(runs.map((r) => `${r.profile}\u0000${r.target}`))];
  return keys.map((key) => {
    const [profile, target] = key.split('\u0000') as [string, string];
    const mine = runs.filter((r) => r.profile === profile && r.target === target);
    const added = (pick: (r: Run) => number | null) =>
      med(
        mine.map((r) => {
          const direct = runs.find((d) => d.profile === profile && d.target === 'direct' && d.round === r.round);
          const a = pick(r);
          const b = direct ? pick(direct) : null;
          return a === null || b === null || target === 'direct' ? null : a - b;
        }),
      );
    return {
      profile,
      target,
      rounds: mine.length,
      failed: mine.reduce((sum, r) => sum + r.failed, 0),
      rps: med(mine.map((r) => r.rps)) ?? 0,
      p50Ms: med(mine.map((r) => r.p50Ms)) ?? 0,
      p99Ms: med(mine.map((r) => r.p99Ms)) ?? 0,
      addedP50Ms: added((r) => r.p50Ms),
      addedP99Ms: added((r) => r.p99Ms),
      ttftP50Ms: med(mine.map((r) => r.ttftP50Ms)),
      addedTtftP50Ms: added((r) => r.ttftP50Ms),
      cpuUsPerRequest: med(mine.map((r) => r.cpuUsPerRequest)),
      peakRssMiB: Math.max(...mine.map((r) => r.peakRssMiB)),
    };
  });
}

const fmt = (value: number | null, digits = 2) => (value === null ? '-' : value.toFixed(digits));

/** The gateways in a run (every target that is neither the upstream itself nor the pass-through). */
const gatewayTargets = (runs: Run[]) => [...new Set(runs.map((r) => r.target))].filter((t) => t !== 'direct' && t !== 'passthrough');

export function printReport(
  runs: Run[],
  extra: { metering: Record<string, Record<string, unknown>>; idleRssMiB: Record<string, number>; afterRssMiB: Record<string, number>; rounds: number; durationS: number; storage: string },
) {
  const summaries = summarise(runs);
  const gateways = gatewayTargets(runs);
  const find = (profile: string, target: string) => summaries.find((s) => s.profile === profile && s.target === target);
  const ratio = (profile: string, target: string, pick: (s: Summary) => number | null, to = 'passthrough') => {
    const g = find(profile, target);
    const p = find(profile, to);
    const a = g ? pick(g) : null;
    const b = p ? pick(p) : null;
    return a === null || b === null || b === 0 ? null : a / b;
  };
  const ratios = gateways.flatMap((target) =>
    ['chat-50', 'chat-50-long', 'chat-1', 'stream-1', 'stream-20', 'streams-1000'].map((profile) => ({
      target,
      profile,
      throughput: ratio(profile, target, (s) => s.rps),
      p50: ratio(profile, target, (s) => s.p50Ms),
      p99: ratio(profile, target, (s) => s.p99Ms),
      cpuPerRequest: ratio(profile, target, (s) => s.cpuUsPerRequest),
      peakRss: ratio(profile, target, (s) => s.peakRssMiB),
    })),
  ).filter((r) => r.throughput !== null);
  const ratioOf = (target: string, profile: string) => ratios.find((r) => r.target === target && r.profile === profile);

  const lines: string[] = [];
  lines.push(`\nTollgate benchmark: ${extra.rounds} interleaved rounds of ${extra.durationS} s per profile; storage: ${extra.storage}`);
  lines.push('| profile | target | req/s | p50 ms | p99 ms | +p50 vs direct | +p99 vs direct | TTFT p50 ms | +TTFT p50 | CPU µs/req | peak RSS MiB | failed |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of summaries) {
    lines.push(
      `| ${s.profile} | ${s.target} | ${s.rps.toFixed(0)} | ${fmt(s.p50Ms, 3)} | ${fmt(s.p99Ms, 3)} | ${fmt(s.addedP50Ms, 3)} | ${fmt(s.addedP99Ms, 3)} | ${fmt(s.ttftP50Ms, 3)} | ${fmt(s.addedTtftP50Ms, 3)} | ${fmt(s.cpuUsPerRequest, 0)} | ${s.peakRssMiB.toFixed(0)} | ${s.failed} |`,
    );
  }
  lines.push('\nGateway / pass-through, same run:');
  lines.push('| gateway | profile | throughput | p50 | p99 | CPU per request | peak RSS |');
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const r of ratios) lines.push(`| ${r.target} | ${r.profile} | ${fmt(r.throughput)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuPerRequest)} | ${fmt(r.peakRss)} |`);
  lines.push('\nGateway RSS, every process and thread (MiB):');
  for (const target of gateways) lines.push(`  ${target}: idle after start ${fmt(extra.idleRssMiB[target] ?? null, 0)}, after the bench ${fmt(extra.afterRssMiB[target] ?? null, 0)}`);

  // A pause holds every request in flight, so pauses over 1 ms per 1,000 requests bound how much of the
  // unloaded tail they can explain.
  const gcKeys = [...new Set(runs.filter((r) => r.gc).map((r) => `${r.target}\u0000${r.profile}`))];
  const gcRows = gcKeys.map((key) => {
    const [target, profile] = key.split('\u0000') as [string, string];
    const mine = runs.filter((r) => r.target === target && r.profile === profile && r.gc && r.completed > 0);
    const per1k = (pick: (gc: NonNullable<Run['gc']>) => number) => med(mine.map((r) => (pick(r.gc!) * 1000) / r.completed));
    return { target, profile, pauses: per1k((gc) => gc.pauses), pauseMs: per1k((gc) => gc.pauseMs), over1Ms: per1k((gc) => gc.over1Ms) };
  });
  if (gcRows.length > 0) {
    lines.push('\nGateway GC pauses per 1,000 requests (median over rounds):');
    lines.push('| gateway | profile | pauses | pause ms | pauses over 1 ms |');
    lines.push('|---|---|---:|---:|---:|');
    for (const g of gcRows) lines.push(`| ${g.target} | ${g.profile} | ${fmt(g.pauses, 1)} | ${fmt(g.pauseMs, 1)} | ${fmt(g.over1Ms, 1)} |`);
  }

  const checks: Check[] = [];
  const check = (target: string, value: number | null | undefined, limit: string, pass: (v: number) => boolean) => {
    if (value === null || value === undefined) return;
    checks.push({ target, value, limit, pass: pass(value) });
  };
  const passthroughChat1 = find('chat-1', 'passthrough');
  for (const target of gateways) {
    check(`${target}: chat-50 throughput / pass-through`, ratioOf(target, 'chat-50')?.throughput, '>= 0.50', (v) => v >= 0.5);
    check(`${target}: chat-50 CPU per request / pass-through`, ratioOf(target, 'chat-50')?.cpuPerRequest, '<= 2.5', (v) => v <= 2.5);
    check(`${target}: chat-50 p99 / pass-through`, ratioOf(target, 'chat-50')?.p99, '<= 2', (v) => v <= 2);
    const chat1 = find('chat-1', target);
    check(
      `${target}: chat-1 added p99 minus the pass-through's (ms)`,
      chat1?.addedP99Ms !== null && passthroughChat1?.addedP99Ms !== null && chat1 && passthroughChat1 ? chat1.addedP99Ms - passthroughChat1.addedP99Ms : null,
      '<= 2',
      (v) => v <= 2,
    );
    check(`${target}: stream-20 throughput / pass-through`, ratioOf(target, 'stream-20')?.throughput, '>= 0.50', (v) => v >= 0.5);
    check(`${target}: stream-20 CPU per stream / pass-through`, ratioOf(target, 'stream-20')?.cpuPerRequest, '<= 2.5', (v) => v <= 2.5);
    check(`${target}: stream-1 added TTFT p50 (ms)`, find('stream-1', target)?.addedTtftP50Ms, '<= 1', (v) => v <= 1);
    const ws = find('graphql-ws', target)?.cpuUsPerRequest;
    const sse = find('sse-20-compare', target)?.cpuUsPerRequest;
    check(`${target}: graphql-ws CPU / the same stream over SSE`, ws && sse ? ws / sse : null, '<= 1.5', (v) => v <= 1.5);
    const streams = find('streams-1000', target);
    check(`${target}: 1,000 concurrent streams, peak RSS (MB)`, streams ? streams.peakRssMiB * 1.048576 : null, '< 250', (v) => v < 250);
    const idle = extra.idleRssMiB[target];
    check(`${target}: RSS at idle after start (MB)`, idle === undefined ? null : idle * 1.048576, '< 150', (v) => v < 150);
    const after = extra.afterRssMiB[target];
    check(`${target}: RSS after the bench (MB)`, after === undefined ? null : after * 1.048576, '< 250', (v) => v < 250);
  }
  if (gateways.includes('embedded') && gateways.includes('production')) {
    check('embedded / production chat-50 throughput', ratio('chat-50', 'embedded', (s) => s.rps, 'production'), '>= 0.90', (v) => v >= 0.9);
  }
  lines.push('\nTargets:');
  for (const c of checks) lines.push(`  ${c.pass ? 'PASS' : 'MISS'}  ${c.target}: ${c.value.toFixed(3)} (${c.limit})`);
  for (const [target, m] of Object.entries(extra.metering)) {
    lines.push(
      `\nMetering (${target}): ${String(m.eventsRecorded)} events recorded, ${String(m.eventsStored)} stored (${Number(m.ingestEventsPerSecond).toFixed(0)} events/s sustained), ` +
        `${String(m.eventsDropped)} dropped; the store caught up ${String(m.storeCatchUpMs)} ms after the load stopped.`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return { summaries, ratios, gcPausesPer1kRequests: gcRows, checks, metering: extra.metering, idleRssMiB: extra.idleRssMiB, afterRssMiB: extra.afterRssMiB };
}
