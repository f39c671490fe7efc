import { Agent, request } from 'node:http';
import { Session } from 'node:inspector/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import { buildApp } from '../../src/app.ts';
import { configSchema } from '../../src/config.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { startFakeUpstream } from '../testkit/fake-upstream.ts';

// Bytes allocated per /v1 request, by function: the gateway built in this process (embedded storage,
// in-memory limits), a sampling heap profile that keeps collected objects too (so it is an allocation
// profile, not a live-memory one), then a summary of our frames. Usage:
//   node test/bench/allocations.ts [--requests 3000] [--stream] [--graphql-ws] [--survivors] [--out file.heapprofile]
// With --graphql-ws, each request is the same 20-chunk stream as a chatCompletion subscription, and
// everything the process allocates is counted, the graphql-ws client's share included: an event's
// execution runs from a promise's continuation, with no frame of ours above it.
// With --survivors, only what no scavenge collected: what was promoted, still live at the end, or still
// young when a full GC ran (few of those in a short run). What the scavenger copies is what its pauses
// cost, far more than what dies young.

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '3000' }, stream: { type: 'boolean', default: false }, 'graphql-ws': { type: 'boolean', default: false }, survivors: { type: 'boolean', default: false }, out: { type: 'string' } },
});
const count = Number(values.requests);
const upstream = await startFakeUpstream({ recordRequests: false, behaviour: { tokens: values.stream || values['graphql-ws'] ? 20 : 5 } });
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-alloc-'));
const config = configSchema.parse({
  server: { port: 0 },
  storage: { dataDir, embeddedDatabase: 'memory' },
  auth: { adminKey: 'alloc-admin-key-0123456789', secret: 'alloc-credential-secret-0123456789' },
  inference: { providers: [{ name: 'gpu', type: 'openai', baseUrl: upstream.openaiBaseUrl }], models: [{ name: 'm', deployments: [{ provider: 'gpu', model: 'bench' }] }] },
});
const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
const app = await buildApp(config, createLogger('info', sink));
const { url } = await app.start();
const platform = { principal: { kind: 'platform' as const, tenantId: undefined, userId: 'bench' }, requestId: 'bench' };
const tenant = await app.deps.services.tenants.create(platform, { name: 'alloc', plan: 'enterprise' });
const { secret } = await app.deps.services.apiKeys.create(platform, { tenantId: tenant.id, name: 'alloc' });
const lifted = await fetch(`${url}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer alloc-admin-key-0123456789' },
  body: JSON.stringify({
    query: 'mutation($id: ID!, $limits: RateLimitsInput!) { setTenantLimits(tenantId: $id, limits: $limits) { tenant { id } } }',
    variables: { id: tenant.id, limits: { requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000, concurrentRequests: 100_000 } },
  }),
});
if (!lifted.ok) throw new Error(`cannot lift the rate limits: ${await lifted.text()}`);

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Benchmark the gateway with a short prompt.' }], max_tokens: 64, stream: values.stream });
const target = new URL(`${url}/v1/chat/completions`);
const send = () =>
  new Promise<void>((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
const wsClients = values['graphql-ws']
  ? Array.from({ length: 8 }, () => createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${secret}` }, retryAttempts: 0, lazy: false }))
  : [];
const subscribe = async (client: Client) => {
  const query = 'subscription($input: ChatCompletionInput!) { chatCompletion(input: $input) { delta finishReason usage { totalTokens } } }';
  const variables = { input: { model: 'm', messages: [{ role: 'user', content: 'Benchmark the gateway with a short prompt.' }], maxTokens: 64 } };
  for await (const event of client.iterate({ query, variables })) if (event.errors) throw new Error(JSON.stringify(event.errors));
};
const run = async (n: number) => {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    while (next++ < n) await (values['graphql-ws'] ? subscribe(wsClients[i]!) : send());
  }));
};

await run(500);
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !values.survivors });
await run(count);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
session.disconnect();
if (values.out) writeFileSync(values.out, JSON.stringify(profile));

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
// Our server's share: allocations under the HTTP server's request handling, not the client's or the fake upstream's.
const total = new Map<string, number>();
const self = new Map<string, number>();
let serverBytes = 0;
const visit = (node: HeapNode, stack: string[], inServer: boolean) => {
  const frame = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
  const server = inServer || /src\/(http|modules|router|providers|observability)\//.test(node.callFrame.url) && !node.callFrame.url.includes('fake-upstream');
  if (node.selfSize > 0 && server && ![...stack, frame].some((s) => s.includes('fake-upstream'))) {
    serverBytes += node.selfSize;
    self.set(frame, (self.get(frame) ?? 0) + node.selfSize);
    for (const f of new Set([...stack, frame])) if (f.includes('src/')) total.set(f, (total.get(f) ?? 0) + node.selfSize);
  }
  for (const child of node.children) visit(child, [...stack, frame], server);
};
visit(profile.head, [], values['graphql-ws']);
const perRequest = (bytes: number) => `${(bytes / count / 1024).toFixed(1).padStart(7)} KiB/req`;
process.stdout.write(
  `gateway code ${values.survivors ? 'allocated, outliving the young generation,' : 'allocated'} ${perRequest(serverBytes)} (${values['graphql-ws'] ? 'graphql-ws subscriptions' : values.stream ? 'streaming' : 'non-streaming'}, ${count} requests)\n\nSelf, by function:\n`,
);
for (const [f, b] of [...self].sort((a, z) => z[1] - a[1]).slice(0, 25)) process.stdout.write(`${perRequest(b)}  ${f}\n`);
process.stdout.write('\nTotal (callees included), our functions:\n');
for (const [f, b] of [...total].sort((a, z) => z[1] - a[1]).slice(0, 30)) process.stdout.write(`${perRequest(b)}  ${f}\n`);

agent.destroy();
await Promise.all(wsClients.map((client) => client.dispose()));
await app.stop();
await upstream.close();
rmSync(dataDir, { recursive: true, force: true });
