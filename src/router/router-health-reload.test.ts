import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger, expectRejection, inference } from '../../test/router/harness.ts';
import { startFakeUpstream, type FakeUpstream } from '../../test/testkit/fake-upstream.ts';
import type { InferenceConfigFile } from '../config.ts';
import { watchInferenceConfig } from './config-reloader.ts';
import { createRouter, type Router } from './router.ts';

let up: FakeUpstream;
let dead: FakeUpstream;
let router: Router;
const request = { messages: [{ role: 'user', content: 'hello' }] };

beforeAll(async () => {
  [up, dead] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
  await dead.close();
});
afterAll(() => up.close());
beforeEach(() => up.reset());
afterEach(() => router.close());

function config(extra: { models?: unknown[]; providers?: unknown[] } = {}) {
  return inference({
    providers: [
      { name: 'down', type: 'openai', baseUrl: dead.openaiBaseUrl },
      { name: 'up', type: 'ollama', baseUrl: up.url },
      ...(extra.providers ?? []),
    ],
    models: [{ name: 'chat', deployments: [{ provider: 'down', model: 'm' }, { provider: 'up', model: 'm' }] }, ...(extra.models ?? [])],
    routing: { strategy: 'round-robin', circuitBreaker: { failures: 3, cooldownMs: 60_000 } },
  });
}

describe('health', () => {
  it('probes each deployment and puts the unhealthy ones last', async () => {
    router = createRouter({ inference: config(), logger: capturedLogger().logger });
    expect(router.health().map((d) => d.healthy)).toEqual([null, null]);
    await router.probeHealth(500);
    const [down, upState] = router.health();
    expect(down).toMatchObject({ name: 'down/m', healthy: false, breaker: 'closed', inflight: 0, servesModels: ['chat'] });
    expect(down?.lastError).toContain('cannot reach down');
    expect(upState).toMatchObject({ name: 'up/m', healthy: true, lastError: null });
    expect(upState?.lastCheckedAt).toBeInstanceOf(Date);
    // Round-robin would start on "down"; the failed probe moves it behind "up".
    for (let i = 0; i < 4; i++) expect(await router.chat('chat', request)).toMatchObject({ deployment: { provider: 'up' }, attempts: 1 });
  });

  it('probes periodically once started, and shows in-flight streams and latency', async () => {
    router = createRouter({ inference: config(), logger: capturedLogger().logger });
    router.startHealthProbes(30, 200);
    await vi.waitFor(() => expect(up.requests.filter((r) => r.path === '/api/version').length).toBeGreaterThanOrEqual(2));
    up.setBehaviour({ tokens: 20, tokenDelayMs: 10 });
    const stream = await router.stream('chat', request);
    expect(router.health().find((d) => d.name === 'up/m')).toMatchObject({ inflight: 1 });
    for await (const chunk of stream) void chunk;
    const state = router.health().find((d) => d.name === 'up/m');
    expect(state?.inflight).toBe(0);
    expect(state?.latencyMs).toBeGreaterThanOrEqual(0);
    router.stopHealthProbes();
  });
});

describe('reload', () => {
  it('applies a new config to new requests while a stream in flight finishes on the old one', async () => {
    router = createRouter({
      inference: config({ providers: [{ name: 'extra', type: 'openai', baseUrl: up.openaiBaseUrl }], models: [{ name: 'old', deployments: [{ provider: 'extra', model: 'o' }] }] }),
      logger: capturedLogger().logger,
    });
    up.setBehaviour({ tokens: 10, tokenDelayMs: 15 });
    const stream = await router.stream('old', request);
    router.reload(config({ models: [{ name: 'new', deployments: [{ provider: 'up', model: 'n' }] }] }));

    expect(await expectRejection(router.chat('old', request))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await router.chat('new', request)).deployment.name).toBe('up/n');
    const deltas: string[] = [];
    for await (const chunk of stream) deltas.push(chunk.delta);
    expect(deltas.filter(Boolean)).toHaveLength(10);
    expect(stream.status).toBe('completed');
    expect(router.health().map((d) => d.name)).toEqual(['down/m', 'up/m', 'up/n']);
  });

  it('keeps breaker and latency state of providers whose settings did not change', async () => {
    router = createRouter({ inference: config(), logger: capturedLogger().logger });
    for (let i = 0; i < 3; i++) await router.chat('chat', request, { tenant: { preferredProvider: 'down', autoFailover: true } });
    expect(router.health()[0]?.breaker).toBe('open');
    router.reload(config({ models: [{ name: 'more', deployments: [{ provider: 'up', model: 'x' }] }] }));
    expect(router.health()[0]?.breaker).toBe('open');
    expect(router.health()[1]?.latencyMs).not.toBeNull();
  });
});

describe('watchInferenceConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-reload-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const yaml = (strategy: string) => `providers:
  - { name: p, type: ollama, baseUrl: "http://127.0.0.1:11434" }
models:
  - name: m
    deployments: [{ provider: p, model: x }]
routing:
  strategy: ${strategy}
`;

  it('applies a valid file on change and on SIGHUP, and refuses an invalid one naming the field', async () => {
    const path = join(dir, 'inference.yaml');
    await writeFile(path, yaml('latency'));
    router = createRouter({ inference: inference({}), logger: capturedLogger().logger });
    const valid: InferenceConfigFile[] = [];
    const invalid: Error[] = [];
    const watcher = watchInferenceConfig(path, (file) => valid.push(file), (error) => invalid.push(error));
    try {
      await writeFile(path, yaml('round-robin'));
      await vi.waitFor(() => expect(valid.at(-1)?.routing.strategy).toBe('round-robin'));

      await writeFile(path, yaml('fastest'));
      await vi.waitFor(() => expect(invalid).toHaveLength(1));
      expect(invalid[0]?.message).toContain('routing.strategy');
      expect(valid).toHaveLength(1);

      await writeFile(path, yaml('latency'));
      await vi.waitFor(() => expect(valid).toHaveLength(2));
      process.kill(process.pid, 'SIGHUP');
      await vi.waitFor(() => expect(valid).toHaveLength(3));
      router.reload(valid[2] as InferenceConfigFile);
      expect(router.models().map((m) => m.name)).toEqual(['m']);
    } finally {
      watcher.close();
    }
  });
});
