import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { saturate, sequential, type Target } from './lib/load.ts';
import { cpuMicros, freePort, startNode, stop, waitForHttp, type Started } from './lib/processes.ts';
import { difference, watchRedis, type RedisCounters } from './lib/redis-stats.ts';
import type { BenchServices } from './lib/services.ts';
import { raiseLimits } from './lib/tenants.ts';

// npm run bench -- --fleet N: N gateway instances sharing Postgres, ClickHouse and Redis (one server,
// then the Redis Cluster), several tenants spread over them by the load generator. Reports the fleet's
// req/s and, per request, gateway CPU, Redis CPU and command time, bytes sent to Redis, and the usage
// events ClickHouse took. Instance i is pinned to core i mod cores; Redis, ClickHouse and the load
// generator share the machine, so the CPU per request is the figure to scale from, not the req/s.

const exec = promisify(execFile);

export interface FleetOptions {
  instances: number;
  tenants: number;
  /** Connections in all, spread over the tenants. */
  connections: number;
  durationS: number;
  rounds: number;
  root: string;
  runDir: string;
  services: BenchServices;
  redis: { name: string; url: string }[];
}

export interface FleetRun {
  redis: string;
  round: number;
  completed: number;
  failed: number;
  rps: number;
  gatewayCpuUsPerRequest: number;
  redisMasterCpuUsPerRequest: number;
  redisReplicaCpuUsPerRequest: number;
  redisCommandUsPerRequest: number;
  redisCallsPerRequest: number;
  redisBytesInPerRequest: number;
  usageEventsStoredPerSecond: number;
  clickhouseCpuUsPerEvent: number | null;
}

export async function runFleet(options: FleetOptions): Promise<FleetRun[]> {
  const { root, runDir } = options;
  const cli = join(root, 'bin/tollgate.mjs');
  const upstreamPort = await freePort();
  const upstream = startNode('fake upstream', [join(root, 'test/testkit/fake-upstream.ts'), '--port', String(upstreamPort), '--tokens', '5'], process.env, join(runDir, 'fake-upstream.log'));
  await waitForHttp(`http://127.0.0.1:${upstreamPort}/v1/models`, upstream);
  const configPath = join(runDir, 'tollgate.yaml');
  writeFileSync(
    configPath,
    `providers:
  - { name: bench-gpu, type: openai, baseUrl: "http://127.0.0.1:${upstreamPort}/v1" }
models:
  - name: bench-chat
    deployments: [{ provider: bench-gpu, model: bench }]
    price: { inputPerMillion: "3.00", outputPerMillion: "6.00", currency: USD }
`,
  );
  const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    // As npm start, the Dockerfile and the tollgate command's shebang set it.
    MALLOC_ARENA_MAX: '2',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    TOLLGATE_CONFIG: configPath,
    TOLLGATE_ADMIN_KEY: adminKey,
    TOLLGATE_SECRET: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'warn',
    ...options.services.env,
  };
  const tenants: { id: string; secret: string }[] = [];
  for (let i = 0; i < options.tenants; i++) {
    const env = { ...baseEnv, TOLLGATE_DATA_DIR: join(runDir, 'cli') };
    const tenant = JSON.parse((await exec(process.execPath, [cli, 'tenant', 'create', '--name', `fleet-${i}`, '--plan', 'enterprise', '--json'], { env })).stdout) as { id: string };
    const key = JSON.parse((await exec(process.execPath, [cli, 'key', 'create', '--tenant', tenant.id, '--name', 'fleet', '--json'], { env })).stdout) as { secret: string };
    tenants.push({ id: tenant.id, secret: key.secret });
  }
  const clickhousePid = readPid('/tmp/tollgate-services/clickhouse.pid');
  const runs: FleetRun[] = [];
  try {
    for (const redis of options.redis) {
      const prefix = `tgfleet:${process.pid}:${redis.name}:`;
      const watcher = await watchRedis(redis.url);
      const gateways: { proc: Started; url: string }[] = [];
      try {
        for (let i = 0; i < options.instances; i++) {
          const port = await freePort();
          const dataDir = join(runDir, `${redis.name}-gateway-${i}`);
          mkdirSync(dataDir, { recursive: true });
          const env = { ...baseEnv, PORT: String(port), TOLLGATE_DATA_DIR: dataDir, REDIS_URL: redis.url, TOLLGATE_LIMITS_KEY_PREFIX: prefix };
          const proc = startNode(`gateway ${i}`, ['--max-semi-space-size=16', '--heap-growing-percent=25', cli, 'serve'], env, join(runDir, `${redis.name}-gateway-${i}.log`));
          await exec('taskset', ['-pc', String(i % availableParallelism()), String(proc.pid)]).catch(() => undefined);
          gateways.push({ proc, url: `http://127.0.0.1:${port}` });
        }
        for (const gateway of gateways) await waitForHttp(`${gateway.url}/healthz`, gateway.proc);
        for (const tenant of tenants) await raiseLimits(gateways[0]!.url, adminKey, tenant.id);
        // Tenant t on instance t mod N: every instance serves several tenants, every tenant one instance.
        const targets: Target[] = tenants.map((tenant, t) => ({
          name: `tenant ${t}`,
          url: gateways[t % gateways.length]!.url,
          headers: { authorization: `Bearer ${tenant.secret}` },
          model: () => 'bench-chat',
        }));
        const perTarget = Math.max(1, Math.round(options.connections / targets.length));
        process.stdout.write(`fleet: ${gateways.length} instances on ${redis.name}, ${targets.length} tenants, ${perTarget * targets.length} connections: warming up\n`);
        for (const target of targets) await sequential(target, 50);
        await Promise.all(targets.map((target) => saturate(target, perTarget, 2)));
        for (let round = 1; round <= options.rounds; round++) {
          const before = await snapshot(gateways, watcher, clickhousePid);
          const results = await Promise.all(targets.map((target) => saturate(target, perTarget, options.durationS)));
          // Usage events still on their way to ClickHouse count in the next round's figures, not this one's.
          const after = await snapshot(gateways, watcher, clickhousePid);
          const completed = results.reduce((sum, r) => sum + r.completed, 0);
          const seconds = Math.max(...results.map((r) => r.seconds));
          const redisUsed = difference(after.redis, before.redis);
          const events = after.stored - before.stored;
          const run: FleetRun = {
            redis: redis.name,
            round,
            completed,
            failed: results.reduce((sum, r) => sum + r.failed, 0),
            rps: completed / seconds,
            gatewayCpuUsPerRequest: (after.gatewayCpuUs - before.gatewayCpuUs) / completed,
            redisMasterCpuUsPerRequest: (redisUsed.masterCpuS * 1e6) / completed,
            redisReplicaCpuUsPerRequest: (redisUsed.replicaCpuS * 1e6) / completed,
            redisCommandUsPerRequest: redisUsed.commandUs / completed,
            redisCallsPerRequest: redisUsed.calls / completed,
            redisBytesInPerRequest: redisUsed.inputBytes / completed,
            usageEventsStoredPerSecond: events / seconds,
            clickhouseCpuUsPerEvent: after.clickhouseCpuUs === null || before.clickhouseCpuUs === null || events === 0 ? null : (after.clickhouseCpuUs - before.clickhouseCpuUs) / events,
          };
          runs.push(run);
          process.stdout.write(
            `  ${redis.name.padEnd(13)} round ${round}: ${run.rps.toFixed(0).padStart(6)} req/s, gateway ${run.gatewayCpuUsPerRequest.toFixed(0)} µs/req, ` +
              `Redis ${run.redisMasterCpuUsPerRequest.toFixed(1)} µs/req CPU (replicas ${run.redisReplicaCpuUsPerRequest.toFixed(1)}), ${run.redisCommandUsPerRequest.toFixed(1)} µs in ${run.redisCallsPerRequest.toFixed(2)} commands, ` +
              `${run.redisBytesInPerRequest.toFixed(0)} B in; ClickHouse took ${run.usageEventsStoredPerSecond.toFixed(0)} events/s` +
              `${run.clickhouseCpuUsPerEvent === null ? '' : ` at ${run.clickhouseCpuUsPerEvent.toFixed(1)} µs CPU each`}${run.failed ? ` FAILED ${run.failed}` : ''}\n`,
          );
        }
      } finally {
        for (const gateway of gateways) await stop(gateway.proc);
        await watcher.clear(prefix).catch(() => undefined);
        await watcher.close();
      }
    }
  } finally {
    await stop(upstream);
  }
  return runs;
}

interface Snapshot {
  gatewayCpuUs: number;
  stored: number;
  redis: RedisCounters;
  clickhouseCpuUs: number | null;
}

async function snapshot(gateways: { proc: Started; url: string }[], redis: Awaited<ReturnType<typeof watchRedis>>, clickhousePid: number | undefined): Promise<Snapshot> {
  let stored = 0;
  for (const gateway of gateways) {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    stored += Number(/^tollgate_usage_events_stored_total (\S+)$/m.exec(text)?.[1] ?? 0);
  }
  return {
    gatewayCpuUs: gateways.reduce((sum, gateway) => sum + cpuMicros(gateway.proc.pid), 0),
    stored,
    redis: await redis.counters(),
    clickhouseCpuUs: clickhousePid === undefined ? null : cpuMicros(clickhousePid),
  };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
