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

export function printReport(runs: Run[], extra: { metering: Record<string, unknown>; gatewayPeakRssMiB: number; rounds: number; durationS: number; storage: string }) {
  const summaries = summarise(runs);
  const find = (profile: string, target: string) => summaries.find((s) => s.profile === profile && s.target === target);
  const ratio = (profile: string, pick: (s: Summary) => number | null) => {
    const g = find(profile, 'gateway');
    const p = find(profile, 'passthrough');
    const a = g ? pick(g) : null;
    const b = p ? pick(p) : null;
    return a === null || b === null || b === 0 ? null : a / b;
  };
  const ratios = ['chat-50', 'chat-50-long', 'chat-1', 'stream-1', 'stream-20', 'streams-1000'].map((profile) => ({
    profile,
    throughput: ratio(profile, (s) => s.rps),
    p50: ratio(profile, (s) => s.p50Ms),
    p99: ratio(profile, (s) => s.p99Ms),
    cpuPerRequest: ratio(profile, (s) => s.cpuUsPerRequest),
    peakRss: ratio(profile, (s) => s.peakRssMiB),
  }));

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
  lines.push('| profile | throughput | p50 | p99 | CPU per request | peak RSS |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const r of ratios) lines.push(`| ${r.profile} | ${fmt(r.throughput)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuPerRequest)} | ${fmt(r.peakRss)} |`);

  // A pause holds every request in flight, so pauses over 1 ms per 1,000 requests bound how much of the
  // unloaded tail they can explain.
  const gcRows = [...new Set(runs.filter((r) => r.gc).map((r) => r.profile))].map((profile) => {
    const mine = runs.filter((r) => r.profile === profile && r.gc && r.completed > 0);
    const per1k = (pick: (gc: NonNullable<Run['gc']>) => number) => med(mine.map((r) => (pick(r.gc!) * 1000) / r.completed));
    return { profile, pauses: per1k((gc) => gc.pauses), pauseMs: per1k((gc) => gc.pauseMs), over1Ms: per1k((gc) => gc.over1Ms) };
  });
  if (gcRows.length > 0) {
    lines.push('\nGateway GC pauses per 1,000 requests (median over rounds):');
    lines.push('| profile | pauses | pause ms | pauses over 1 ms |');
    lines.push('|---|---:|---:|---:|');
    for (const g of gcRows) lines.push(`| ${g.profile} | ${fmt(g.pauses, 1)} | ${fmt(g.pauseMs, 1)} | ${fmt(g.over1Ms, 1)} |`);
  }

  const checks: Check[] = [];
  const check = (target: string, value: number | null | undefined, limit: string, pass: (v: number) => boolean) => {
    if (value === null || value === undefined) return;
    checks.push({ target, value, limit, pass: pass(value) });
  };
  check('non-streaming throughput, gateway / pass-through', ratios[0]?.throughput, '>= 0.50', (v) => v >= 0.5);
  check('unloaded added latency p50 (ms)', find('chat-1', 'gateway')?.addedP50Ms, '<= 0.5', (v) => v <= 0.5);
  check('unloaded added latency p99 (ms)', find('chat-1', 'gateway')?.addedP99Ms, '<= 2', (v) => v <= 2);
  check('CPU per request, gateway / pass-through (50 connections)', ratios[0]?.cpuPerRequest, '<= 2.5', (v) => v <= 2.5);
  check('streaming TTFT added p50, one stream at a time (ms)', find('stream-1', 'gateway')?.addedTtftP50Ms, '<= 1', (v) => v <= 1);
  const streamsRss = find('streams-1000', 'gateway');
  check('1,000 concurrent streams, gateway peak RSS (MB)', streamsRss ? streamsRss.peakRssMiB * 1.048576 : null, '< 300', (v) => v < 300);
  lines.push('\nTargets:');
  for (const c of checks) lines.push(`  ${c.pass ? 'PASS' : 'MISS'}  ${c.target}: ${c.value.toFixed(3)} (${c.limit})`);
  const m = extra.metering;
  lines.push(
    `\nMetering: ${String(m.eventsRecorded)} events recorded, ${String(m.eventsStored)} stored (${Number(m.ingestEventsPerSecond).toFixed(0)} events/s sustained), ` +
      `${String(m.eventsDropped)} dropped; the store caught up ${String(m.storeCatchUpMs)} ms after the load stopped. Gateway VmHWM ${extra.gatewayPeakRssMiB.toFixed(0)} MiB.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return { summaries, ratios, gcPausesPer1kRequests: gcRows, checks, metering: extra.metering, gatewayPeakRssMiB: extra.gatewayPeakRssMiB };
}
