import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { concurrentStreams, longPrompt, percentile, saturate, sequential, streams, subscriptions, type LoadResult, type Target } from './lib/load.ts';
import { freePort, killAll, residentByKind, sampleRss, startNode, stop, treeCpuMicros, treeRssMiB, waitForHttp, type Started } from './lib/processes.ts';
import { benchUrl, prepareServices } from './lib/services.ts';
import { runFleet, type FleetRun } from './fleet.ts';
import { printReport, type Run } from './lib/report.ts';
import { raiseLimits } from './lib/tenants.ts';

// npm run bench: the gateway in its embedded shape (npm start, no environment) and its production shape
// (the real servers) against a pass-through proxy and the fake upstream itself, over loopback, targets
// interleaved round by round (the machine is shared and noisy), CPU and RSS from /proc over each
// gateway's every thread and child process. Every process it starts is stopped by pid. See
// docs/performance.md for the figures and their history.

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '4' },
    'cpu-prof': { type: 'boolean', default: false },
    /** Samples the gateway's allocations (node --heap-prof) for profile-summary.ts. */
    'heap-prof': { type: 'boolean', default: false },
    /** Writes heap snapshots of the gateway at idle after warm-up, midway through the 1,000-stream profile and after the bench. */
    'heap-snapshot': { type: 'boolean', default: false },
    /** The gateway as `npm start` runs it with no environment: PGlite, in-memory limits. */
    embedded: { type: 'boolean', default: false },
    /** The gateway on the real servers (Postgres, Redis, ClickHouse) whose URLs are set. */
    production: { type: 'boolean', default: false },
    'only': { type: 'string' },
    /** chat-50 and stream-20 make this many requests instead of running for --duration: the same work in every run, so memory figures compare. */
    requests: { type: 'string' },
    /** Extra gateway environment for experiments, e.g. --env LOG_LEVEL=warn --env TOLLGATE_LOG_SYNC=true */
    env: { type: 'string', multiple: true, default: [] },
    /** Extra node flags for the gateway process only, e.g. --node-flag=--max-semi-space-size=8 */
    'node-flag': { type: 'string', multiple: true, default: [] },
    /** N gateway instances on one Redis and then on the Redis Cluster, instead of the profiles (fleet.ts). */
    fleet: { type: 'string' },
    /** With --fleet: tenants, each on one instance, and the connections spread over them. */
    tenants: { type: 'string', default: '6' },
    connections: { type: 'string', default: '48' },
  },
});
const rounds = Number(options.rounds);
const durationS = Number(options.duration);
const requests = options.requests === undefined ? undefined : Number(options.requests);
const only = options.only?.split(',');
const wants = (profile: string) => only === undefined || only.includes(profile);

const root = fileURLToPath(new URL('../../', import.meta.url));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const runDir = join(root, 'test/bench/results', stamp);
mkdirSync(runDir, { recursive: true });
const exec = promisify(execFile);

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});

const cleanups: (() => Promise<void>)[] = [];
const cleanUp = async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
};

type Shape = 'embedded' | 'production';

/** --embedded, --production, or by default both when the servers' URLs are set (else embedded alone). */
function chooseShapes(): Shape[] {
  const asked = (['embedded', 'production'] as const).filter((shape) => options[shape]);
  const haveServers = benchUrl('DATABASE') !== undefined || benchUrl('REDIS') !== undefined || benchUrl('CLICKHOUSE') !== undefined;
  if (asked.includes('production') && !haveServers) throw new Error('--production needs TOLLGATE_BENCH_<DATABASE|REDIS|CLICKHOUSE>_URL or the TOLLGATE_TEST_ ones');
  if (asked.length > 0) return asked;
  return haveServers ? ['embedded', 'production'] : ['embedded'];
}

interface Gateway {
  shape: Shape;
  target: Target;
  proc: Started;
  url: string;
  secret: string;
  storage: string;
}

async function main(): Promise<void> {
  const shapes = options.fleet !== undefined ? (['production'] as Shape[]) : chooseShapes();
  process.stdout.write(`bench: results and logs in ${runDir}\nbench: shapes ${shapes.join(', ')}\n`);
  if (options.fleet !== undefined) {
    const services = await prepareServices({ embedded: false, dataDir: join(runDir, 'data'), redisKeyPrefix: `tgbench:${process.pid}:` });
    cleanups.push(services.cleanup);
    return fleet(services);
  }

  const upstreamPort = await freePort();
  const upstream = startNode('fake upstream', [join(root, 'test/testkit/fake-upstream.ts'), '--port', String(upstreamPort), '--tokens', '5'], process.env, join(runDir, 'fake-upstream.log'));
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  await waitForHttp(`${upstreamUrl}/v1/models`, upstream);

  const proxyPort = await freePort();
  const proxy = startNode('pass-through proxy', [join(root, 'test/bench/passthrough-proxy.ts'), '--port', String(proxyPort), '--target', upstreamUrl], process.env, join(runDir, 'passthrough.log'));
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  await waitForHttp(`${proxyUrl}/v1/models`, proxy);

  const configPath = join(runDir, 'tollgate.yaml');
  writeFileSync(
    configPath,
    `providers:
  - { name: bench-gpu, type: openai, baseUrl: "${upstreamUrl}/v1" }
models:
  - name: bench-chat
    deployments: [{ provider: bench-gpu, model: bench }]
    price: { inputPerMillion: "3.00", outputPerMillion: "6.00", currency: USD }
  - name: bench-stream
    deployments: [{ provider: bench-gpu, model: "bench?tokens=20" }]
    price: { inputPerMillion: "3.00", outputPerMillion: "6.00", currency: USD }
  - name: bench-slow
    deployments: [{ provider: bench-gpu, model: "bench?tokens=20&token-delay-ms=250" }]
    price: { inputPerMillion: "3.00", outputPerMillion: "6.00", currency: USD }
`,
  );
  const gateways: Gateway[] = [];
  for (const shape of shapes) gateways.push(await startGateway(shape, configPath));
  const idleRssMiB = Object.fromEntries(gateways.map((gateway) => [gateway.shape, treeRssMiB(gateway.proc.pid)]));
  process.stdout.write(`bench: gateway RSS at idle after start (every process and thread): ${gateways.map((g) => `${g.shape} ${idleRssMiB[g.shape]!.toFixed(0)} MiB`).join(', ')}\n`);

  const models = { chat: 'bench', stream: 'bench?tokens=20', slow: 'bench?tokens=20&token-delay-ms=250' } as const;
  const direct: Target = { name: 'direct', url: upstreamUrl, headers: {}, model: (p) => models[p] };
  const passthrough: Target = { name: 'passthrough', url: proxyUrl, headers: {}, model: (p) => models[p] };
  const targets = [direct, passthrough, ...gateways.map((gateway) => gateway.target)];
  const pidOf: Record<string, Started> = { direct: upstream, passthrough: proxy, ...Object.fromEntries(gateways.map((g) => [g.shape, g.proc])) };
  const gatewayOf = (target: Target) => gateways.find((gateway) => gateway.target === target);

  const runs: Run[] = [];
  const streamsHeap: Record<string, Record<string, number>> = {};
  const measured = async (profile: string, target: Target, round: number, load: () => Promise<LoadResult & { p50?: number; p99?: number }>) => {
    const proc = pidOf[target.name]!;
    const gateway = gatewayOf(target);
    // The gateway's GC pauses, read outside the CPU window: a pause holds every request in flight.
    const gc0 = gateway ? await scrapeGc(gateway.url) : undefined;
    const cpu0 = treeCpuMicros(proc.pid);
    const rss = sampleRss([proc.pid]);
    const result = await load();
    const peak = rss.stop().get(proc.pid) ?? 0;
    const cpu = treeCpuMicros(proc.pid) - cpu0;
    const gc1 = gc0 && gateway && (await scrapeGc(gateway.url));
    const run: Run = {
      profile,
      target: target.name,
      round,
      completed: result.completed,
      failed: result.failed,
      rps: result.completed / result.seconds,
      p50Ms: result.p50 ?? percentile(result.latencies, 50),
      p99Ms: result.p99 ?? percentile(result.latencies, 99),
      ttftP50Ms: result.ttfts ? percentile(result.ttfts, 50) : null,
      ttftP99Ms: result.ttfts ? percentile(result.ttfts, 99) : null,
      cpuUsPerRequest: result.completed > 0 ? cpu / result.completed : null,
      peakRssMiB: peak,
      gc: gc0 && gc1 ? { pauses: gc1.pauses - gc0.pauses, pauseMs: gc1.pauseMs - gc0.pauseMs, over1Ms: gc1.over1Ms - gc0.over1Ms } : null,
    };
    runs.push(run);
    process.stdout.write(
      `  ${profile.padEnd(16)} ${target.name.padEnd(12)} round ${round}: ${run.rps.toFixed(0).padStart(6)}/s p50 ${run.p50Ms.toFixed(3)} ms p99 ${run.p99Ms.toFixed(3)} ms` +
        `${run.ttftP50Ms === null ? '' : ` ttft p50 ${run.ttftP50Ms.toFixed(3)} ms`} cpu ${run.cpuUsPerRequest?.toFixed(0) ?? '-'} µs/req` +
        `${run.gc ? ` gc ${run.gc.pauses} pauses ${run.gc.pauseMs.toFixed(1)} ms (${run.gc.over1Ms} over 1 ms)` : ''}${run.failed ? ` FAILED ${run.failed}` : ''}\n`,
    );
  };

  process.stdout.write('bench: warming up\n');
  for (const target of targets) await saturate(target, 50, 2);
  for (const target of targets) await sequential(target, 300);
  for (const gateway of gateways) {
    process.stdout.write(`  ${gateway.shape} memory at idle after warm-up: ${describeMemory(await memoryOf(gateway))}\n`);
    // The baseline for the snapshots taken with 1,000 streams open and after the bench.
    if (options['heap-snapshot']) await snapshotHeap(gateway);
  }
  const metricsBefore = Object.fromEntries(await Promise.all(gateways.map(async (g) => [g.shape, await scrapeUsage(g.url)] as const)));
  const started = performance.now();

  if (wants('streams-1000')) {
    // First, so the gateway's RSS is that of the streams and not of garbage left by minutes of load.
    process.stdout.write('bench: 1,000 concurrent slow streams (20 tokens, 250 ms apart)\n');
    await measured('streams-1000', passthrough, 1, () => concurrentStreams(passthrough, 1000));
    for (const gateway of gateways) {
      // Midway through, the gateway's own view of its memory: where the RSS goes.
      const heap = sleep(3_000).then(() => {
        if (options['heap-snapshot']) process.kill(gateway.proc.pid, 'SIGUSR2');
        return memoryOf(gateway);
      });
      await measured('streams-1000', gateway.target, 1, () => concurrentStreams(gateway.target, 1000));
      streamsHeap[gateway.shape] = await heap;
      process.stdout.write(`  ${gateway.shape} memory with 1,000 streams open: ${describeMemory(streamsHeap[gateway.shape]!)}\n`);
    }
  }

  for (let round = 1; round <= rounds; round++) {
    process.stdout.write(`bench: round ${round} of ${rounds}\n`);
    if (wants('chat-50')) for (const target of targets) await measured('chat-50', target, round, () => saturate(target, 50, durationS, undefined, requests));
    if (wants('chat-50-long')) for (const target of targets) await measured('chat-50-long', target, round, () => saturate(target, 50, durationS, longPrompt));
    if (wants('chat-1')) for (const target of targets) await measured('chat-1', target, round, () => sequential(target, 1500));
    if (wants('stream-1')) for (const target of targets) await measured('stream-1', target, round, () => streams(target, 1, durationS / 2));
    if (wants('stream-20')) for (const target of targets) await measured('stream-20', target, round, () => streams(target, 20, durationS, requests));
    if (wants('graphql-ws')) {
      for (const gateway of gateways) {
        await measured('graphql-ws', gateway.target, round, () => subscriptions(gateway.url, gateway.secret, 'bench-stream', 20, durationS));
        await measured('sse-20-compare', gateway.target, round, () => streams(gateway.target, 20, durationS));
      }
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  const metering: Record<string, Record<string, unknown>> = {};
  for (const gateway of gateways) {
    const before = metricsBefore[gateway.shape]!;
    const after = await scrapeUsage(gateway.url);
    const caughtUp = performance.now();
    let usage = after;
    while (usage.stored < usage.recorded && performance.now() - caughtUp < 30_000) {
      await sleep(50);
      usage = await scrapeUsage(gateway.url);
    }
    metering[gateway.shape] = {
      eventsRecorded: usage.recorded - before.recorded,
      eventsStored: usage.stored - before.stored,
      eventsDropped: usage.dropped,
      ingestEventsPerSecond: (after.stored - before.stored) / elapsed,
      storeCatchUpMs: Math.round(performance.now() - caughtUp),
      store: gateway.storage,
    };
  }
  const afterRssMiB = Object.fromEntries(gateways.map((gateway) => [gateway.shape, treeRssMiB(gateway.proc.pid)]));
  for (const gateway of gateways) {
    process.stdout.write(`  ${gateway.shape} memory after the bench: ${describeMemory(await memoryOf(gateway))}\n`);
    // Against the one at idle: what the load left behind.
    if (options['heap-snapshot']) await snapshotHeap(gateway);
  }
  // V8's memory reducer and glibc's trimming act once the load has stopped for a while: what is given back.
  await sleep(10_000);
  for (const gateway of gateways) process.stdout.write(`  ${gateway.shape} memory 10 s later: ${describeMemory(await memoryOf(gateway))}\n`);

  for (const gateway of gateways) await stop(gateway.proc);
  await stop(proxy);
  await stop(upstream);

  const storage = gateways.map((g) => `${g.shape}: ${g.storage}`).join('; ');
  const report = { ...printReport(runs, { metering, idleRssMiB, afterRssMiB, rounds, durationS, storage }), streamsHeap };
  const json = `${JSON.stringify({ startedAt: stamp, rounds, durationS, storage, runs, ...report }, null, 2)}\n`;
  const file = join(runDir, 'results.json');
  writeFileSync(file, json);
  writeFileSync(join(root, 'test/bench/results/latest.json'), json);
  process.stdout.write(`bench: wrote ${file}${options['cpu-prof'] ? ` and CPU profiles under ${runDir}/<shape>/cpu-profile` : ''}\n`);
}

/** One gateway in its shape: its own storage, tenant and key, started as npm start and the Dockerfile do. */
async function startGateway(shape: Shape, configPath: string): Promise<Gateway> {
  const dir = join(runDir, shape);
  mkdirSync(dir, { recursive: true });
  const services = await prepareServices({ embedded: shape === 'embedded', dataDir: join(dir, 'data'), redisKeyPrefix: `tgbench:${process.pid}:` });
  cleanups.push(services.cleanup);
  if (options.env?.length) services.description += ` (gateway environment overridden: ${options.env.join(' ')})`;
  process.stdout.write(`bench: ${shape} storage ${services.description}\n`);
  const port = await freePort();
  const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
  const gatewayEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    // As npm start, the Dockerfile and the tollgate command's shebang set it.
    MALLOC_ARENA_MAX: '2',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    TOLLGATE_CONFIG: configPath,
    TOLLGATE_DATA_DIR: join(dir, 'data'),
    TOLLGATE_ADMIN_KEY: adminKey,
    TOLLGATE_SECRET: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'info',
    ...services.env,
    ...Object.fromEntries((options.env ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])),
  };
  const cli = join(root, 'bin/tollgate.mjs');
  const tenant = JSON.parse((await exec(process.execPath, [cli, 'tenant', 'create', '--name', 'bench', '--plan', 'enterprise', '--json'], { env: gatewayEnv })).stdout) as { id: string };
  const key = JSON.parse((await exec(process.execPath, [cli, 'key', 'create', '--tenant', tenant.id, '--name', 'bench', '--json'], { env: gatewayEnv })).stdout) as { secret: string };

  const profileDir = join(dir, 'cpu-profile');
  // As npm start and the Dockerfile start it; a --node-flag given later wins.
  const productionFlags = ['--max-semi-space-size=16', '--heap-growing-percent=25'];
  const proc = startNode(
    `${shape} gateway`,
    [
      ...(options['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(options['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : []),
      ...(options['heap-prof'] ? ['--heap-prof', `--heap-prof-dir=${profileDir}`, '--heap-prof-interval=32768'] : []),
      ...productionFlags,
      ...(options['node-flag'] ?? []),
      cli,
      'serve',
    ],
    gatewayEnv,
    join(dir, 'gateway.log'),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, proc);
  await raiseLimits(url, adminKey, tenant.id);
  const target: Target = { name: shape, url, headers: { authorization: `Bearer ${key.secret}` }, model: (p) => `bench-${p}` };
  return { shape, target, proc, url, secret: key.secret, storage: services.description };
}

async function fleet(services: Awaited<ReturnType<typeof prepareServices>>): Promise<void> {
  const instances = Number(options.fleet);
  if (!Number.isInteger(instances) || instances < 1) throw new Error(`--fleet takes a number of gateway instances (got "${options.fleet}")`);
  const redis = [
    { name: 'redis', url: benchUrl('REDIS') },
    { name: 'redis-cluster', url: benchUrl('REDIS_CLUSTER') },
  ].filter((target): target is { name: string; url: string } => target.url !== undefined);
  if (redis.length === 0) throw new Error('--fleet needs TOLLGATE_BENCH_REDIS_URL or TOLLGATE_BENCH_REDIS_CLUSTER_URL (or the TOLLGATE_TEST_ ones): bash scripts/services.sh');
  const runs = await runFleet({ instances, tenants: Number(options.tenants), connections: Number(options.connections), durationS, rounds, root, runDir, services, redis });
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const summary = redis.map(({ name }) => {
    const of = runs.filter((run) => run.redis === name);
    const pick = (field: keyof FleetRun) => median(of.map((run) => run[field] as number));
    const clickhouse = of.map((run) => run.clickhouseCpuUsPerEvent).filter((value): value is number => value !== null);
    return {
      redis: name,
      rps: pick('rps'),
      gatewayCpuUsPerRequest: pick('gatewayCpuUsPerRequest'),
      requestsPerGatewayCore: 1e6 / pick('gatewayCpuUsPerRequest'),
      redisMasterCpuUsPerRequest: pick('redisMasterCpuUsPerRequest'),
      requestsPerRedisCore: 1e6 / pick('redisMasterCpuUsPerRequest'),
      redisReplicaCpuUsPerRequest: pick('redisReplicaCpuUsPerRequest'),
      redisCommandUsPerRequest: pick('redisCommandUsPerRequest'),
      redisCallsPerRequest: pick('redisCallsPerRequest'),
      redisBytesInPerRequest: pick('redisBytesInPerRequest'),
      usageEventsStoredPerSecond: pick('usageEventsStoredPerSecond'),
      clickhouseCpuUsPerEvent: clickhouse.length ? median(clickhouse) : null,
    };
  });
  process.stdout.write(`\nfleet of ${instances}, medians of ${rounds} rounds of ${durationS} s:\n`);
  for (const row of summary) {
    process.stdout.write(
      `  ${row.redis.padEnd(13)} ${row.rps.toFixed(0)} req/s; per gateway core ${row.requestsPerGatewayCore.toFixed(0)} req/s; per Redis core ${row.requestsPerRedisCore.toFixed(0)} req/s ` +
        `(${row.redisMasterCpuUsPerRequest.toFixed(1)} µs, ${row.redisBytesInPerRequest.toFixed(0)} B in per request); ClickHouse ${row.usageEventsStoredPerSecond.toFixed(0)} events/s` +
        `${row.clickhouseCpuUsPerEvent === null ? '' : `, ${(1e6 / row.clickhouseCpuUsPerEvent).toFixed(0)} events per CPU second`}\n`,
    );
  }
  const file = join(runDir, 'fleet.json');
  writeFileSync(file, `${JSON.stringify({ startedAt: stamp, instances, tenants: Number(options.tenants), connections: Number(options.connections), rounds, durationS, storage: services.description, runs, summary }, null, 2)}\n`);
  process.stdout.write(`bench: wrote ${file}\n`);
}

async function scrapeHeap(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const mib = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 1_048_576;
  return { rss: mib('process_resident_memory_bytes'), heapTotal: mib('nodejs_heap_size_total_bytes'), heapUsed: mib('nodejs_heap_size_used_bytes'), external: mib('nodejs_external_memory_bytes') };
}

/** Asks the gateway for a heap snapshot and waits for it: the gateway answers nothing while it writes one. */
async function snapshotHeap(gateway: Gateway): Promise<void> {
  process.kill(gateway.proc.pid, 'SIGUSR2');
  await sleep(100);
  await scrapeHeap(gateway.url);
}

/** Where the gateway's main process keeps its memory: V8's heap and external memory, and resident pages by kind. */
async function memoryOf(gateway: Gateway): Promise<Record<string, number>> {
  return { ...(await scrapeHeap(gateway.url)), ...residentByKind(gateway.proc.pid) };
}

const describeMemory = (memory: Record<string, number>) => Object.entries(memory).map(([k, v]) => `${k.replace(/MiB$/, '')} ${v.toFixed(0)} MiB`).join(', ');

/** The gateway's GC pauses so far, every kind (prom-client's nodejs_gc_duration_seconds). */
async function scrapeGc(url: string): Promise<{ pauses: number; pauseMs: number; over1Ms: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  const pauses = sum(/^nodejs_gc_duration_seconds_count\{[^}]*\} (\S+)$/gm);
  return {
    pauses,
    pauseMs: sum(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm) * 1000,
    over1Ms: pauses - sum(/^nodejs_gc_duration_seconds_bucket\{[^}]*le="0\.001"[^}]*\} (\S+)$/gm),
  };
}

async function scrapeUsage(url: string): Promise<{ recorded: number; stored: number; dropped: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { recorded: value('tollgate_usage_events_recorded_total'), stored: value('tollgate_usage_events_stored_total'), dropped: value('tollgate_usage_events_dropped_total') };
}

main().then(
  () => cleanUp().finally(() => process.exit(0)),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAll();
    void cleanUp().finally(() => process.exit(1));
  },
);

