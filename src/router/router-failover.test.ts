import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capturedLogger, expectRejection, inference } from '../../test/router/harness.ts';
import { fakeTokens, startFakeUpstream, type FakeBehaviour, type FakeUpstream } from '../../test/testkit/fake-upstream.ts';
import { countTokens } from '../providers/token-estimator.ts';
import { DomainError } from '../shared/errors.ts';
import { createRouter, type Router } from './router.ts';
import type { TenantRoutingPrefs } from './tenant-routing.ts';

// Faults are injected into deployment "a" (tried first through the tenant's preference); "b" is
// healthy. Each scenario checks who was called, how often, and what the caller saw.

let upA: FakeUpstream;
let upB: FakeUpstream;
let upC: FakeUpstream;
let dead: FakeUpstream;
let router: Router;

const timeouts = { connect: 500, firstToken: 300, idle: 300, total: 5_000, response: 300 };
const preferA: TenantRoutingPrefs = { preferredProvider: 'a', autoFailover: true };
const request = { messages: [{ role: 'user', content: 'tell me' }] };

function makeRouter(routing: Record<string, unknown> = {}, aUrl?: string): Router {
  return createRouter({
    inference: inference({
      providers: [
        { name: 'a', type: 'openai', baseUrl: aUrl ?? upA.openaiBaseUrl },
        { name: 'b', type: 'ollama', baseUrl: upB.url },
        { name: 'c', type: 'openai', baseUrl: upC.openaiBaseUrl },
      ],
      models: [
        { name: 'chat', deployments: [{ provider: 'a', model: 'm' }, { provider: 'b', model: 'm' }] },
        { name: 'three', deployments: [{ provider: 'a', model: 'm' }, { provider: 'b', model: 'm' }, { provider: 'c', model: 'm' }] },
        { name: 'solo', deployments: [{ provider: 'a', model: 'm' }] },
      ],
      routing: { strategy: 'round-robin', maxAttempts: 3, timeoutsMs: timeouts, circuitBreaker: { failures: 100, cooldownMs: 1_000 }, ...routing },
    }),
    logger: capturedLogger().logger,
    backoff: { baseMs: 5, maxMs: 20 },
  });
}

async function drain(stream: AsyncIterable<{ delta: string }>): Promise<string[]> {
  const deltas: string[] = [];
  for await (const chunk of stream) deltas.push(chunk.delta);
  return deltas;
}

beforeAll(async () => {
  [upA, upB, upC, dead] = await Promise.all([startFakeUpstream(), startFakeUpstream(), startFakeUpstream(), startFakeUpstream()]);
  await dead.close();
});
afterAll(async () => {
  await Promise.all([upA.close(), upB.close(), upC.close()]);
});
beforeEach(() => {
  for (const upstream of [upA, upB, upC]) upstream.reset();
  router = makeRouter();
});
afterEach(() => router.close());

describe('failover before the first byte', () => {
  const faults: [string, Partial<FakeBehaviour>][] = [
    ['500', { fail: 500 }],
    ['503', { fail: 503 }],
    ['429', { fail: 429, retryAfter: 0 }],
    ['a hang (response timeout)', { hang: true }],
  ];

  it.each(faults)('fails over a non-streaming call on %s', async (_name, behaviour) => {
    upA.setBehaviour(behaviour);
    const routed = await router.chat('chat', request, { tenant: preferA });
    expect(routed.deployment).toEqual({ name: 'b/m', provider: 'b', model: 'm' });
    expect(routed.attempts).toBe(2);
    expect(routed.result.content).toBe(fakeTokens('tell me', 5).join(''));
    expect(upA.requests).toHaveLength(1);
  });

  it.each([...faults, ['a hang (first-token timeout)', { hang: true }], ['an empty stream', { endAfter: 0 }]] as [string, Partial<FakeBehaviour>][])(
    'fails over a stream on %s',
    async (_name, behaviour) => {
      upA.setBehaviour(behaviour);
      const stream = await router.stream('chat', request, { tenant: preferA });
      expect(stream.deployment.provider).toBe('b');
      expect(stream.attempts).toBe(2);
      expect((await drain(stream)).join('')).toBe(fakeTokens('tell me', 5).join(''));
      expect((await stream.usage()).estimated).toBe(false);
    },
  );

  it('fails over on a refused connection', async () => {
    await router.close();
    router = makeRouter({}, dead.openaiBaseUrl);
    const routed = await router.chat('chat', request, { tenant: preferA });
    expect(routed).toMatchObject({ deployment: { provider: 'b' }, attempts: 2 });
  });

  it('never retries the caller’s own 4xx', async () => {
    upA.setBehaviour({ fail: 400 });
    const error = await expectRejection(router.chat('chat', request, { tenant: preferA }));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', message: 'fake upstream failure 400' });
    expect(upA.requests).toHaveLength(1);
    expect(upB.requests).toHaveLength(0);
  });

  it('stops at maxAttempts', async () => {
    await router.close();
    router = makeRouter({ maxAttempts: 2 });
    for (const upstream of [upA, upB, upC]) upstream.setBehaviour({ fail: 500 });
    const error = await expectRejection(router.chat('three', request));
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', details: { attempts: 2 } });
    expect(upA.requests.length + upB.requests.length + upC.requests.length).toBe(2);
  });

  it('retries the only deployment after a backoff', async () => {
    upA.setBehaviour({ fail: 503, failTimes: 1 });
    const routed = await router.chat('solo', request);
    expect(routed.attempts).toBe(2);
    expect(upA.requests).toHaveLength(2);
  });

  it('waits out a Retry-After before calling the deployment again', async () => {
    upA.setBehaviour({ fail: 429, retryAfter: 1, failTimes: 1 });
    const routed = await router.chat('solo', request);
    expect(routed.attempts).toBe(2);
    const [first, second] = upA.requests;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('answers at once when the Retry-After is longer than it will wait, and sends others elsewhere meanwhile', async () => {
    upA.setBehaviour({ fail: 429, retryAfter: 30 });
    const started = performance.now();
    const error = await expectRejection(router.chat('solo', request));
    // Far below the 30 s it would take to wait the Retry-After out.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect((error as DomainError).details.retryAfterMs).toBeGreaterThan(29_000);
    upA.reset();
    const routed = await router.chat('chat', request, { tenant: preferA });
    expect(routed).toMatchObject({ deployment: { provider: 'b' }, attempts: 1 });
  });

  it('gives up with UPSTREAM_TIMEOUT when the total budget runs out, without retrying', async () => {
    await router.close();
    router = makeRouter({ timeoutsMs: { ...timeouts, response: undefined, total: 300 } });
    upA.setBehaviour({ hang: true });
    const started = performance.now();
    const error = await expectRejection(router.chat('chat', request, { tenant: preferA }));
    expect(error).toMatchObject({ code: 'UPSTREAM_TIMEOUT', details: { timeout: 'total' } });
    // A hang would run to the test timeout; the budget ends it long before.
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(upB.requests).toHaveLength(0);
  });
});

describe('after the first byte', () => {
  it('never retries: a cut stream ends with UPSTREAM_ERROR carrying the partial usage', async () => {
    upA.setBehaviour({ cutAfter: 2 });
    const stream = await router.stream('chat', request, { tenant: preferA });
    const seen: string[] = [];
    let error: unknown;
    try {
      for await (const chunk of stream) seen.push(chunk.delta);
    } catch (caught) {
      error = caught;
    }
    const partial = fakeTokens('tell me', 2);
    expect(seen).toEqual(partial);
    expect(stream.content).toBe(partial.join(''));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', details: { partial: true, chunks: 2 } });
    const usage = (error as DomainError).details.usage;
    expect(usage).toMatchObject({ completionTokens: await countTokens(partial.join('')), estimated: true });
    expect(upB.requests).toHaveLength(0);
    expect(stream.status).toBe('failed');
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('ends with an error, not quietly, when the upstream ends the stream without finishing', async () => {
    upA.setBehaviour({ endAfter: 3 });
    const stream = await router.stream('chat', request, { tenant: preferA });
    expect(await expectRejection(drain(stream))).toMatchObject({ code: 'UPSTREAM_ERROR', details: { chunks: 3 } });
  });

  it('ends with UPSTREAM_TIMEOUT when the upstream goes quiet longer than the idle timeout', async () => {
    upA.setBehaviour({ stallAfter: 2 });
    const stream = await router.stream('chat', request, { tenant: preferA });
    const started = performance.now();
    const error = await expectRejection(drain(stream));
    expect(performance.now() - started).toBeGreaterThanOrEqual(timeouts.idle - 20);
    expect(error).toMatchObject({ code: 'UPSTREAM_TIMEOUT', details: { timeout: 'idle', partial: true, chunks: 2 } });
    expect(router.health().find((d) => d.provider === 'a')?.inflight).toBe(0);
  });

  it('does not count a slow consumer against the idle timeout', async () => {
    const stream = await router.stream('chat', request, { tenant: preferA });
    await stream.next();
    await new Promise((resolve) => setTimeout(resolve, timeouts.idle + 100));
    expect((await drain(stream)).length).toBe(5);
  });

  it('ends a completed stream with the upstream usage and frees the deployment', async () => {
    const stream = await router.stream('chat', request, { tenant: preferA });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)).toMatchObject({ finishReason: 'stop', usage: { completionTokens: 5, estimated: false } });
    expect(stream.status).toBe('completed');
    expect(router.health().every((d) => d.inflight === 0)).toBe(true);
  });
});

describe('abort propagation', () => {
  it('aborts a non-streaming upstream call within 100 ms of the caller leaving', async () => {
    upA.setBehaviour({ hang: true });
    await router.close();
    router = makeRouter({ timeoutsMs: { ...timeouts, response: undefined } });
    const controller = new AbortController();
    const seen = upA.nextAbort();
    const pending = expectRejection(router.chat('solo', request, { signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abortedAt = performance.now();
    controller.abort(new Error('client went away'));
    expect((await seen) - abortedAt).toBeLessThan(100);
    expect(await pending).toMatchObject({ message: 'client went away' });
    expect(router.health()[0]?.inflight).toBe(0);
  });

  it('aborts a stream within 100 ms of the caller leaving, mid-stream', async () => {
    upA.setBehaviour({ tokens: 50, tokenDelayMs: 20 });
    const controller = new AbortController();
    const stream = await router.stream('solo', request, { signal: controller.signal });
    await stream.next();
    const seen = upA.nextAbort();
    const abortedAt = performance.now();
    controller.abort(new Error('client went away'));
    expect((await seen) - abortedAt).toBeLessThan(100);
    expect(await expectRejection(drain(stream))).toMatchObject({ message: 'client went away' });
    expect(router.health()[0]?.inflight).toBe(0);
    expect((await stream.usage()).estimated).toBe(true);
  });

  it('aborts the upstream within 100 ms when the consumer breaks out of the loop', async () => {
    upA.setBehaviour({ tokens: 50, tokenDelayMs: 20 });
    const stream = await router.stream('solo', request);
    const seen = upA.nextAbort();
    for await (const chunk of stream) if (chunk.delta) break;
    const stoppedAt = performance.now();
    expect((await seen) - stoppedAt).toBeLessThan(100);
    expect(stream.status).toBe('cancelled');
    expect(router.health()[0]?.inflight).toBe(0);
  });

  it('refuses at once, without calling upstream, when the caller has already left', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    expect(await expectRejection(router.chat('solo', request, { signal: controller.signal }))).toMatchObject({ message: 'gone' });
    expect(upA.requests).toHaveLength(0);
  });
});
