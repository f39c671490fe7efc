import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';

// Load generators. Throughput at 50 connections uses autocannon; latency-sensitive profiles use small
// clients of our own that time each request with performance.now(), since autocannon keeps whole
// milliseconds and the targets here are fractions of one.

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The request body for each profile, e.g. the model name differs between the gateway and the upstream. */
  model: (profile: 'chat' | 'stream' | 'slow') => string;
}

export interface LoadResult {
  completed: number;
  failed: number;
  seconds: number;
  /** Per request, ms: whole-request latency (or time to first byte of the stream for TTFT). */
  latencies: number[];
  ttfts?: number[];
}

const shortPrompt = 'Benchmark the gateway with a short prompt.';
const chatBody = (model: string, stream: boolean, prompt = shortPrompt) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 64, ...(stream ? { stream: true } : {}) });

/** A chat history's worth of English, about 2,000 tokens (8 KiB): what a production prompt looks like. */
export const longPrompt = (() => {
  const words = 'the gateway meters every request exactly once and prices it while tenants stream tokens from their own models over plans with limits'.split(' ');
  let text = '';
  for (let i = 0; text.length < 8_192; i++) text += `${words[(i * 7) % words.length]}${i % 11 === 10 ? '. ' : ' '}`;
  return text;
})();

/** Saturating load: autocannon at a fixed number of connections for durationS, or for `amount` requests. */
export async function saturate(target: Target, connections: number, durationS: number, prompt?: string, amount?: number): Promise<LoadResult & { p50: number; p99: number }> {
  const result = await autocannon({
    ...(amount === undefined ? {} : { amount }),
    url: `${target.url}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: chatBody(target.model('chat'), false, prompt),
    connections,
    duration: durationS,
    pipelining: 1,
  });
  return {
    completed: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    latencies: [],
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/** Sequential requests over one kept-alive connection: latency with nothing else in the way. */
export async function sequential(target: Target, count: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = chatBody(target.model('chat'), false);
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const status = await post(agent, target, body, () => undefined);
    latencies.push(performance.now() - t0);
    if (status !== 200) failed++;
  }
  agent.destroy();
  return { completed: count - failed, failed, seconds: (performance.now() - started) / 1000, latencies };
}

/** SSE streams at a fixed concurrency for durationS (or `amount` streams): time to the first frame, and to the end. */
export async function streams(target: Target, concurrency: number, durationS: number, amount?: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = chatBody(target.model('stream'), true);
  const latencies: number[] = [];
  const ttfts: number[] = [];
  let failed = 0;
  let begun = 0;
  const started = performance.now();
  const deadline = started + durationS * 1000;
  const more = () => (amount === undefined ? performance.now() < deadline : begun++ < amount);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more()) {
        const t0 = performance.now();
        let first: number | undefined;
        const status = await post(agent, target, body, () => (first ??= performance.now()));
        if (status !== 200 || first === undefined) {
          failed++;
          continue;
        }
        ttfts.push(first - t0);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  agent.destroy();
  return { completed: latencies.length, failed, seconds: (performance.now() - started) / 1000, latencies, ttfts };
}

/** `count` streams opened at once and held to their end (the memory profile). */
export async function concurrentStreams(target: Target, count: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const body = chatBody(target.model('slow'), true);
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: count }, async () => {
      const t0 = performance.now();
      let first: number | undefined;
      const status = await post(agent, target, body, () => (first ??= performance.now())).catch(() => 0);
      return { ok: status === 200 && first !== undefined, ttft: (first ?? t0) - t0, latency: performance.now() - t0 };
    }),
  );
  agent.destroy();
  const ok = outcomes.filter((o) => o.ok);
  return { completed: ok.length, failed: count - ok.length, seconds: (performance.now() - started) / 1000, latencies: ok.map((o) => o.latency), ttfts: ok.map((o) => o.ttft) };
}

/** GraphQL chatCompletion subscriptions over graphql-ws: one socket per client, subscriptions back to back. */
export async function subscriptions(url: string, apiKey: string, model: string, clients: number, durationS: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const ttfts: number[] = [];
  let failed = 0;
  const query = 'subscription($input: ChatCompletionInput!) { chatCompletion(input: $input) { delta finishReason usage { totalTokens } } }';
  const variables = { input: { model, messages: [{ role: 'user', content: 'Benchmark the gateway with a short prompt.' }], maxTokens: 64 } };
  const started = performance.now();
  const deadline = started + durationS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = createClient({ url: url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${apiKey}` }, retryAttempts: 0, lazy: false });
      try {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          let first: number | undefined;
          try {
            for await (const _chunk of client.iterate({ query, variables })) {
              first ??= performance.now();
              void _chunk;
            }
            ttfts.push((first ?? performance.now()) - t0);
            latencies.push(performance.now() - t0);
          } catch {
            failed++;
          }
        }
      } finally {
        await client.dispose();
      }
    }),
  );
  return { completed: latencies.length, failed, seconds: (performance.now() - started) / 1000, latencies, ttfts };
}

function post(agent: Agent, target: Target, body: string, onData: () => void): Promise<number> {
  const url = new URL(`${target.url}/v1/chat/completions`);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers } },
      (res) => {
        res.on('data', onData);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);
