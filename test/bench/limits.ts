import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createLocalBroadcast } from '../../src/shared/broadcast.ts';
import { randomId } from '../../src/shared/ids.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { estimatePromptTokens, promptTokensBySize, warmTokenizer } from '../../src/providers/token-estimator.ts';
import type { LimiterStore } from '../../src/modules/limits/limiter-store.ts';
import { effectiveLimits } from '../../src/modules/limits/limits-directory.ts';
import { LimitsGate } from '../../src/modules/limits/limits-gate.ts';
import { LimitsMetrics } from '../../src/modules/limits/limits-metrics.ts';
import { MemoryLimiterStore } from '../../src/modules/limits/memory-limiter-store.ts';
import { RedisLimiterStore } from '../../src/modules/limits/redis-limiter-store.ts';
import { QuotaEvents } from '../../src/modules/quota/quota-events.ts';
import { QuotaService } from '../../src/modules/quota/quota.service.ts';
import { zeroTotals } from '../../src/modules/usage/usage-report.ts';

// node test/bench/limits.ts [redis://...]: the request gate's cost per admission + settlement, over the
// in-memory store and over Redis (one connection configured as the app's), and the cost of the prompt's
// estimate by size against the tokenizer's. Sequential figures are latency (and CPU per request);
// concurrent ones are throughput.
// "1 tenant" is the gateway benchmark's shape (every request in the same windows, which grow with the
// rate); "100 tenants" spreads them. Redis CPU is the server's, from /proc/<pid>/stat when it is local.

const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
const plan = {
  id: 'pro', name: 'Pro', monthly_tokens: 25_000_000, requests_per_minute: 1_000_000_000,
  tokens_per_minute: 1_000_000_000, requests_per_hour: null, requests_per_month: null, concurrent_requests: 1_000_000, hard_quota: false,
  retired_at: null, created_at: new Date(), updated_at: new Date(),
};

function gateOver(store: LimiterStore, tenants: number) {
  const limits = new Map(Array.from({ length: tenants }, (_, i) => [`t${i}`, effectiveLimits({ tenantId: `t${i}`, plan, tenantOverride: undefined, keyOverride: undefined }, null, 600_000)]));
  const metrics = new LimitsMetrics(new Registry());
  const directory = { get: (tenantId: string) => limits.get(tenantId)!, invalidate: () => {} };
  const quota = new QuotaService({
    store,
    directory,
    usage: { store: { report: async (q) => new Map([[q.tenantIds![0]!, { totals: zeroTotals(), buckets: [] }]]) } },
    events: new QuotaEvents(createLocalBroadcast(logger)),
    webhook: undefined,
    logger,
    metrics,
  });
  return new LimitsGate({ directory, store, quota, logger, metrics });
}

const usage = { promptTokens: 20, completionTokens: 100, totalTokens: 120, estimated: false };
let n = 0;
const turn = () => new Promise((resolve) => setImmediate(resolve));
// The upstream call and the client's next request each take at least a turn of the event loop.
/** Returns how long the admission took, ms. */
const once = async (gate: LimitsGate, tenants: number) => {
  n += 1;
  const started = performance.now();
  const admission = await gate.admit({ tenantId: `t${n % tenants}`, userId: null, apiKeyId: null, requestId: `r${n}` }, { model: 'm', estimateTokens: async () => 532 });
  const took = performance.now() - started;
  await turn();
  admission.settle(usage);
  await turn();
  return took;
};

/**
 * The Redis server's CPU µs (user + system, when it runs on this machine), the µs its scripts took and
 * the commands they ran (INFO commandstats; the work itself, without reading and writing connections).
 */
let serverStats: () => Promise<{ cpu: number | undefined; scripts: number; commands: number } | undefined> = async () => undefined;
const serverShare = async (since: Awaited<ReturnType<typeof serverStats>>, count: number) => {
  const now = await serverStats();
  if (!since || !now) return '';
  const cpu = since.cpu === undefined || now.cpu === undefined ? '' : `, Redis CPU ${((now.cpu - since.cpu) / count).toFixed(1)} µs`;
  return `${cpu}, Redis scripts ${((now.scripts - since.scripts) / count).toFixed(1)} µs and ${((now.commands - since.commands) / count).toFixed(1)} commands each`;
};

async function sequential(name: string, gate: LimitsGate, count: number, tenants: number) {
  for (let i = 0; i < 2_000; i++) await once(gate, tenants);
  const latencies: number[] = [];
  const server = await serverStats();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    latencies.push(await once(gate, tenants));
  }
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  console.log(
    `${name} sequential: p50 ${(latencies[count >> 1]! * 1000).toFixed(0)} µs, p99 ${(latencies[Math.floor(count * 0.99)]! * 1000).toFixed(0)} µs, ` +
      `CPU ${((used.user + used.system) / count).toFixed(1)} µs per admission+settlement, ${Math.round(count / (wall / 1000))}/s${await serverShare(server, count)}`,
  );
}

async function concurrent(name: string, gate: LimitsGate, count: number, concurrency: number, tenants: number) {
  const started = performance.now();
  const server = await serverStats();
  const cpu = process.cpuUsage();
  let left = count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await once(gate, tenants);
    }),
  );
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  console.log(`${name} ${concurrency} concurrent: ${Math.round(count / (wall / 1000))} admissions/s, CPU ${((used.user + used.system) / count).toFixed(1)} µs each${await serverShare(server, count)}`);
}

/** The admission's estimate from the prompt's size (what the gate reserves) against the tokenizer's count. */
async function tokenizer() {
  await warmTokenizer();
  const words = (k: number) => Array.from({ length: k }, (_, i) => `word${i % 97} and some text`).join(' ');
  const cpuPerCall = async (rounds: number, estimate: () => unknown) => {
    const cpu = process.cpuUsage();
    for (let i = 0; i < rounds; i++) await estimate();
    const used = process.cpuUsage(cpu);
    return ((used.user + used.system) / rounds).toFixed(1);
  };
  for (const [label, text] of [['~25 tokens', 'Summarise the following paragraph in two sentences for a busy reader.'], ['~1k tokens', words(200)], ['~8k tokens', words(1_600)]] as const) {
    const messages = [{ role: 'user', content: text }];
    for (let i = 0; i < 20; i++) await estimatePromptTokens(messages);
    const rounds = label === '~8k tokens' ? 200 : 2_000;
    const counted = await estimatePromptTokens(messages);
    const tokenizerUs = await cpuPerCall(rounds, () => estimatePromptTokens(messages));
    const bySizeUs = await cpuPerCall(rounds * 10, () => promptTokensBySize(messages));
    console.log(`prompt ${label}: by size ${promptTokensBySize(messages)} tokens in ${bySizeUs} µs (the admission's estimate), tokenizer ${counted} in ${tokenizerUs} µs`);
  }
}

const redisUrl = process.argv[2];
await tokenizer();
const memory = gateOver(new MemoryLimiterStore({ requestIdTtlMs: 3_600_000 }), 100);
await sequential('memory', memory, 20_000, 100);
await concurrent('memory', memory, 50_000, 50, 100);
if (redisUrl) {
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 250, enableAutoPipelining: false, lazyConnect: true });
  await redis.connect();
  const pid = /process_id:(\d+)/.exec(await redis.info('server'))?.[1];
  serverStats = async () => {
    const stats = await redis.info('commandstats');
    const scripts = /cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(stats)?.[1];
    let commands = 0;
    for (const [, name, calls] of stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) if (!/^(eval|evalsha|info)$/.test(name!)) commands += Number(calls);
    let cpu: number | undefined;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpu = (Number(fields[11]) + Number(fields[12])) * (1_000_000 / 100);
    } catch {
      cpu = undefined;
    }
    return { cpu, scripts: Number(scripts ?? 0), commands };
  };
  const prefix = `bench:${randomId(6)}:`;
  const store = new RedisLimiterStore({ redis, keyPrefix: prefix, requestIdTtlMs: 60_000 });
  for (const tenants of [1, 100]) {
    const gate = gateOver(store, tenants);
    await sequential(`redis ${tenants} tenant(s)`, gate, 5_000, tenants);
    await concurrent(`redis ${tenants} tenant(s)`, gate, 20_000, 50, tenants);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await gate.close();
  }
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}
