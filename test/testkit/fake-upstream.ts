import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fakeChatAnswer, fakeDeltas, fakeLogprobs, fakeMessage, type FakeChatAnswer, type FakeChoice } from './fake-chat-answer.ts';

// A fake LLM backend that speaks OpenAI's /v1 API and Ollama's native API on node:http, so tests and the
// benchmark exercise real sockets, real SSE/NDJSON framing and real aborts instead of mocked HTTP.
// Output is a pure function of the request; every fault is a knob, set per instance (setBehaviour),
// per deployment (query-style knobs in the model name, e.g. "m?fail=503&tokens=3") or per request
// (an `x-fake-<knob>` header). Headers win over the model name, which wins over the instance.

export interface FakeBehaviour {
  /** Completion tokens per reply (a request's max_tokens/num_predict caps it, finish reason "length"). */
  tokens: number;
  /** Delay before the first token; an OpenAI stream sends its role chunk before this wait. */
  firstTokenDelayMs: number;
  /** Delay between tokens. */
  tokenDelayMs: number;
  /** Answer with this HTTP status (429, 500, 503...) instead of a reply; null: succeed. */
  fail: number | null;
  /** Fail only this many requests (counted per instance since the last setBehaviour), then succeed; null: always. */
  failTimes: number | null;
  /** Retry-After seconds sent with failures; 429s default to 1. */
  retryAfter: number | null;
  /** Read the request and never answer. */
  hang: boolean;
  /** Stream this many tokens, then go silent with the connection open. */
  stallAfter: number | null;
  /** Stream this many tokens, then destroy the socket. */
  cutAfter: number | null;
  /** Stream this many tokens, then end the response cleanly without a finish reason or terminator. */
  endAfter: number | null;
  /** Leave out every usage block and count. */
  omitUsage: boolean;
  /** Put usage on the last chunk that still carries choices (llama.cpp's style), and nowhere else. */
  usageWithChoices: boolean;
  /** Put running usage on every chat chunk with choices as well as the usage chunk (vLLM's continuous usage stats). */
  continuousUsage: boolean;
  /** Size of each embedding vector. */
  dimensions: number;
  /** Chat answers show reasoning first (reasoning_content; Ollama's thinking), counted as reasoning tokens. */
  reasoning: boolean;
  /** Report this many prompt tokens as served from the prompt cache (prompt_tokens_details.cached_tokens). */
  cachedTokens: number | null;
  /** Indent whole chat answers, as OpenAI's own API does (a relay that re-serialises would lose it). */
  pretty: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  receivedAt: number;
  /** The client's port: equal ports on consecutive requests show a kept-alive connection. */
  remotePort: number | undefined;
}

export interface FakeUpstreamOptions {
  host?: string;
  port?: number;
  behaviour?: Partial<FakeBehaviour>;
  /** Names listed by /v1/models and /api/tags. */
  models?: string[];
  /** Keep a log of requests (the benchmark turns it off to keep memory flat). */
  recordRequests?: boolean;
}

export interface FakeUpstream {
  /** Base URL, e.g. http://127.0.0.1:40123 (the Ollama base URL). */
  readonly url: string;
  /** url + '/v1' (the OpenAI-compatible base URL). */
  readonly openaiBaseUrl: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Requests whose client went away before the reply was complete. */
  readonly abortedRequests: number;
  /** Resolves with the time (performance.now()) at which the next client abort is seen. */
  nextAbort(): Promise<number>;
  setBehaviour(partial: Partial<FakeBehaviour>): void;
  /** Back to the behaviour given at start, with the failure counter and request log cleared. */
  reset(): void;
  close(): Promise<void>;
}

export const defaultBehaviour: FakeBehaviour = {
  tokens: 5,
  firstTokenDelayMs: 0,
  tokenDelayMs: 0,
  fail: null,
  failTimes: null,
  retryAfter: null,
  hang: false,
  stallAfter: null,
  cutAfter: null,
  endAfter: null,
  omitUsage: false,
  usageWithChoices: false,
  continuousUsage: false,
  dimensions: 8,
  reasoning: false,
  cachedTokens: null,
  pretty: false,
};

const vocabulary = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima',
  'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey',
  'xray', 'yankee', 'zulu', 'amber', 'basalt', 'cobalt', 'dune', 'ember', 'fjord',
];

type KnobParser = (value: string) => Partial<FakeBehaviour>;
const intOrNull = (value: string) => (value === '' || value === 'null' ? null : Number.parseInt(value, 10));
const flag = (value: string) => value === '1' || value === 'true';

const knobs: Record<string, KnobParser> = {
  tokens: (v) => ({ tokens: Number.parseInt(v, 10) }),
  'first-token-delay-ms': (v) => ({ firstTokenDelayMs: Number.parseInt(v, 10) }),
  'token-delay-ms': (v) => ({ tokenDelayMs: Number.parseInt(v, 10) }),
  fail: (v) => ({ fail: intOrNull(v) }),
  'fail-times': (v) => ({ failTimes: intOrNull(v) }),
  'retry-after': (v) => ({ retryAfter: intOrNull(v) }),
  hang: (v) => ({ hang: flag(v) }),
  'stall-after': (v) => ({ stallAfter: intOrNull(v) }),
  'cut-after': (v) => ({ cutAfter: intOrNull(v) }),
  'end-after': (v) => ({ endAfter: intOrNull(v) }),
  'omit-usage': (v) => ({ omitUsage: flag(v) }),
  'usage-with-choices': (v) => ({ usageWithChoices: flag(v) }),
  'continuous-usage': (v) => ({ continuousUsage: flag(v) }),
  dimensions: (v) => ({ dimensions: Number.parseInt(v, 10) }),
  reasoning: (v) => ({ reasoning: flag(v) }),
  'cached-tokens': (v) => ({ cachedTokens: intOrNull(v) }),
  pretty: (v) => ({ pretty: flag(v) }),
};

function knobsFromModel(model: string): Partial<FakeBehaviour> {
  const at = model.indexOf('?');
  if (at === -1) return {};
  let result: Partial<FakeBehaviour> = {};
  for (const [key, value] of new URLSearchParams(model.slice(at + 1))) {
    const parse = knobs[key];
    if (parse) result = { ...result, ...parse(value) };
  }
  return result;
}

function knobsFromHeaders(headers: IncomingHttpHeaders): Partial<FakeBehaviour> {
  let result: Partial<FakeBehaviour> = {};
  for (const name in headers) {
    if (!name.startsWith('x-fake-')) continue;
    const parse = knobs[name.slice(7)];
    const value = headers[name];
    if (parse && typeof value === 'string') result = { ...result, ...parse(value) };
  }
  return result;
}

function hash(text: string): number {
  // FNV-1a: cheap, stable across runs, good enough to vary the words.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The words a reply to `seed` consists of; exported so tests can predict the output. */
export function fakeTokens(seed: string, count: number): string[] {
  const start = hash(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const word = vocabulary[(start + i * 7) % vocabulary.length] as string;
    out.push(i === 0 ? word : ` ${word}`);
  }
  return out;
}

/** The prompt token count the fake reports: words plus one per message, deterministic and easy to predict. */
export function fakePromptTokens(texts: string[]): number {
  let count = 0;
  for (const text of texts) count += 1 + text.split(/\s+/).filter(Boolean).length;
  return count;
}

function fakeEmbedding(text: string, dimensions: number): number[] {
  let h = hash(text);
  const vector: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    vector.push(Math.round(((h / 0xffffffff) * 2 - 1) * 1e6) / 1e6);
  }
  return vector;
}

type Body = Record<string, unknown>;

interface Generation {
  seed: string;
  promptTokens: number;
  tokens: string[];
  finishReason: 'stop' | 'length';
}

function asRecord(value: unknown): Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Body) : {};
}

function generation(prompts: string[], seed: string, behaviour: FakeBehaviour, maxTokens: unknown): Generation {
  const limit = typeof maxTokens === 'number' && maxTokens >= 0 ? maxTokens : Number.POSITIVE_INFINITY;
  const count = Math.min(behaviour.tokens, limit);
  return {
    seed,
    promptTokens: fakePromptTokens(prompts),
    tokens: fakeTokens(seed, count),
    finishReason: count < behaviour.tokens ? 'length' : 'stop',
  };
}

function inputsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.map((v) => String(v)) : [];
}

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const initial: FakeBehaviour = { ...defaultBehaviour, ...options.behaviour };
  let behaviour: FakeBehaviour = { ...initial };
  const models = options.models ?? ['fake-model'];
  const record = options.recordRequests ?? true;
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  let aborted = 0;
  let failuresServed = 0;
  let idCounter = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: unknown;
      if (chunks.length > 0) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          sendJson(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
          return;
        }
      }
      const path = (req.url ?? '/').split('?')[0] as string;
      if (record) requests.push({
          method: req.method ?? 'GET',
          path,
          headers: req.headers,
          body,
          receivedAt: Date.now(),
          remotePort: req.socket.remotePort,
        });
      handle(req, res, path, asRecord(body)).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: String(error), type: 'server_error' } });
        else res.destroy();
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, body: Body): Promise<void> {
    // A client that leaves before the reply is complete is what the abort tests look for.
    let selfDestroyed = false;
    res.on('close', () => {
      if (!res.writableFinished && !selfDestroyed) {
        aborted++;
        events.emit('abort', performance.now());
      }
    });
    const model = typeof body.model === 'string' ? body.model : '';
    const b: FakeBehaviour = { ...behaviour, ...knobsFromModel(model), ...knobsFromHeaders(req.headers) };
    const ollama = path.startsWith('/api/');

    if (b.hang) return;
    if (b.fail !== null && (b.failTimes === null || failuresServed < b.failTimes)) {
      failuresServed++;
      const retryAfter = b.retryAfter ?? (b.fail === 429 ? 1 : null);
      if (retryAfter !== null) res.setHeader('retry-after', String(retryAfter));
      const message = `fake upstream failure ${b.fail}`;
      sendJson(res, b.fail, ollama ? { error: message } : { error: { message, type: 'fake_error', code: b.fail } });
      return;
    }
    // Drop the connection without finishing the chunked body, a turn later: node:http holds a
    // response's chunks until the next tick to send them in one write, and since Node 24 it holds
    // them in the response, not the socket, so ending the socket in the same tick drops them.
    const cut = () => {
      selfDestroyed = true;
      setImmediate(() => res.socket?.destroySoon());
    };
    const closed = new AbortController();
    res.on('close', () => closed.abort());

    switch (`${req.method} ${path}`) {
      case 'GET /v1/models':
        sendJson(res, 200, {
          object: 'list',
          data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
        });
        return;
      case 'GET /api/tags':
        sendJson(res, 200, {
          models: models.map((name) => ({ name, model: name, modified_at: '2026-01-01T00:00:00Z', size: 1, digest: 'fake', details: {} })),
        });
        return;
      case 'GET /':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running');
        return;
      case 'GET /api/version':
        sendJson(res, 200, { version: '0.0.0-fake' });
        return;
      case 'POST /v1/chat/completions': {
        const id = `chatcmpl-fake-${++idCounter}`;
        const answer = fakeChatAnswer(body, { tokens: b.tokens, reasoning: b.reasoning, callId: `call_fake_${idCounter}` });
        const usage = b.omitUsage ? undefined : chatUsage(answer, b);
        if (body.stream === true) {
          const includeUsage = asRecord(body.stream_options).include_usage === true;
          await streamOpenAiChat(res, { id, model, answer, usage, b, includeUsage, cut, signal: closed.signal });
          return;
        }
        const steps = Math.max(...answer.choices.map((c) => c.pieces.length + (c.toolCall?.argumentPieces.length ?? 0) + c.reasoning.length));
        await delay(b.firstTokenDelayMs + b.tokenDelayMs * Math.max(0, steps - 1), closed.signal);
        sendJson(res, 200, {
          id,
          object: 'chat.completion',
          created: 1_700_000_000,
          model,
          system_fingerprint: 'fp_fake',
          choices: answer.choices.map((choice) => ({
            index: choice.index,
            message: fakeMessage(choice),
            logprobs: answer.logprobs ? fakeLogprobs(choice.pieces, answer.topLogprobs) : null,
            finish_reason: choice.finishReason,
          })),
          ...(usage ? { usage } : {}),
        }, b.pretty ? 2 : undefined);
        return;
      }
      case 'POST /v1/responses': {
        const id = `resp_fake_${++idCounter}`;
        const answer = fakeChatAnswer(chatShapeOfResponses(body), { tokens: b.tokens, reasoning: b.reasoning, callId: `call_fake_${idCounter}` });
        const response = fakeResponse(id, model, body, answer, b);
        if (body.stream === true) {
          await streamResponse(res, { response, answer, b, cut, signal: closed.signal });
          return;
        }
        const choice = answer.choices[0] as FakeChoice;
        await delay(b.firstTokenDelayMs + b.tokenDelayMs * Math.max(0, choice.pieces.length + choice.reasoning.length - 1), closed.signal);
        sendJson(res, 200, response.whole);
        return;
      }
      case 'POST /v1/completions': {
        const prompts = inputsOf(body.prompt);
        const gen = generation(prompts, prompts.at(-1) ?? '', b, body.max_tokens);
        const id = `cmpl-fake-${++idCounter}`;
        if (body.stream === true) {
          const includeUsage = asRecord(body.stream_options).include_usage === true;
          await streamTextCompletion(res, { id, model, gen, b, includeUsage, cut, signal: closed.signal });
        } else {
          await delay(b.firstTokenDelayMs + b.tokenDelayMs * Math.max(0, gen.tokens.length - 1), closed.signal);
          // A choice per prompt and per n, each prompt's answer its own; echo puts the prompt first.
          const n = typeof body.n === 'number' ? body.n : 1;
          const answers = prompts.flatMap((prompt) => Array.from({ length: n }, () => generation([prompt], prompt, b, body.max_tokens)));
          const choices = answers.map((answer, index) => ({
            index,
            text: (body.echo === true ? (prompts[Math.floor(index / n)] ?? '') : '') + answer.tokens.join(''),
            logprobs: null,
            finish_reason: answer.finishReason,
          }));
          const completionTokens = answers.reduce((sum, answer) => sum + answer.tokens.length, 0);
          const usage = { prompt_tokens: gen.promptTokens, completion_tokens: completionTokens, total_tokens: gen.promptTokens + completionTokens };
          sendJson(res, 200, { id, object: 'text_completion', created: 1_700_000_000, model, choices, ...(b.omitUsage ? {} : { usage }) });
        }
        return;
      }
      case 'POST /api/chat': {
        const answer = fakeChatAnswer(openAiShapeOf(body), { tokens: b.tokens, reasoning: b.reasoning, callId: 'unused' });
        const choice = answer.choices[0] as FakeChoice;
        if (body.stream === false) {
          await delay(b.firstTokenDelayMs + b.tokenDelayMs * Math.max(0, choice.pieces.length - 1), closed.signal);
          sendJson(res, 200, ollamaChatFinal(model, answer, b, ollamaMessage(choice, choice.pieces.join(''), choice.reasoning.join(''), true)));
        } else {
          await streamOllamaChat(res, { model, answer, b, cut, signal: closed.signal });
        }
        return;
      }
      case 'POST /api/generate': {
        const prompts = inputsOf(body.prompt);
        const gen = generation(prompts, prompts.at(-1) ?? '', b, asRecord(body.options).num_predict);
        if (body.stream === false) {
          await delay(b.firstTokenDelayMs + b.tokenDelayMs * Math.max(0, gen.tokens.length - 1), closed.signal);
          const content = gen.tokens.join('');
          sendJson(res, 200, ollamaGenerateFinal(model, gen, b, content));
        } else {
          await streamOllamaGenerate(res, { model, gen, b, cut, signal: closed.signal });
        }
        return;
      }
      case 'POST /v1/embeddings':
      case 'POST /api/embed': {
        const inputs = inputsOf(body.input);
        const dimensions = typeof body.dimensions === 'number' ? body.dimensions : b.dimensions;
        const vectors = inputs.map((text) => fakeEmbedding(text, dimensions));
        const promptTokens = fakePromptTokens(inputs);
        if (path === '/api/embed') {
          sendJson(res, 200, { model, embeddings: vectors, ...(b.omitUsage ? {} : { prompt_eval_count: promptTokens }) });
        } else {
          sendJson(res, 200, {
            object: 'list',
            model,
            data: vectors.map((embedding, index) => ({
              object: 'embedding',
              index,
              embedding: body.encoding_format === 'base64' ? Buffer.from(new Float32Array(embedding).buffer).toString('base64') : embedding,
            })),
            ...(b.omitUsage ? {} : { usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }),
          });
        }
        return;
      }
      default:
        sendJson(res, 404, ollama ? { error: `no route ${path}` } : { error: { message: `no route ${path}`, type: 'not_found' } });
    }
  }

  server.keepAliveTimeout = 30_000;
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    port,
    requests,
    get abortedRequests() {
      return aborted;
    },
    nextAbort: async () => {
      const [at] = (await once(events, 'abort')) as [number];
      return at;
    },
    setBehaviour(partial) {
      behaviour = { ...behaviour, ...partial };
      failuresServed = 0;
    },
    reset() {
      behaviour = { ...initial };
      failuresServed = 0;
      requests.length = 0;
    },
    close: async () => {
      const closing = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closing;
    },
  };
}

function sendJson(res: ServerResponse, status: number, payload: unknown, indent?: number): void {
  const text = JSON.stringify(payload, null, indent);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

function openAiUsage(gen: Generation) {
  return { prompt_tokens: gen.promptTokens, completion_tokens: gen.tokens.length, total_tokens: gen.promptTokens + gen.tokens.length };
}

interface StreamContext {
  model: string;
  gen: Generation;
  b: FakeBehaviour;
  cut: () => void;
  signal: AbortSignal;
}

type StreamOutcome = 'complete' | 'ended' | 'stopped';

/**
 * Plays the token loop shared by both wire formats, applying the stream faults between tokens.
 * Zero delays write synchronously so the benchmark measures the gateway, not the fake's timers.
 */
async function playTokens(ctx: Omit<StreamContext, 'gen' | 'model'>, n: number, write: (step: number) => void): Promise<StreamOutcome> {
  const { b, signal } = ctx;
  for (let i = 0; i <= n; i++) {
    if (i === b.cutAfter) {
      ctx.cut();
      return 'stopped';
    }
    if (i === b.stallAfter) return 'stopped';
    if (i === b.endAfter) return 'ended';
    if (i === n) break;
    await delay(i === 0 ? b.firstTokenDelayMs : b.tokenDelayMs, signal);
    if (signal.aborted) return 'stopped';
    write(i);
  }
  return 'complete';
}

/** A text completion stream: a chunk per token, the finish, the usage chunk when asked for, [DONE]. */
async function streamTextCompletion(
  res: ServerResponse,
  ctx: StreamContext & { id: string; includeUsage: boolean },
): Promise<void> {
  const { id, model, gen, b } = ctx;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const frame = (choices: unknown[], usage?: unknown) =>
    `data: ${JSON.stringify({
      id,
      object: 'text_completion',
      created: 1_700_000_000,
      model,
      choices,
      ...(usage === undefined ? {} : { usage }),
    })}\n\n`;
  const outcome = await playTokens(ctx, gen.tokens.length, (i) => {
    res.write(frame([{ index: 0, text: gen.tokens[i] as string, finish_reason: null }]));
  });
  if (outcome === 'ended') res.end();
  if (outcome !== 'complete') return;
  const usage = b.omitUsage ? undefined : openAiUsage(gen);
  const finish = { index: 0, text: '', finish_reason: gen.finishReason };
  if (b.usageWithChoices) {
    res.write(frame([finish], usage));
  } else {
    res.write(frame([finish]));
    if (ctx.includeUsage && usage) res.write(frame([], usage));
  }
  res.end('data: [DONE]\n\n');
}

function chatUsage(answer: FakeChatAnswer, b: FakeBehaviour) {
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
    ...(b.cachedTokens === null ? {} : { prompt_tokens_details: { cached_tokens: b.cachedTokens } }),
    ...(answer.reasoningTokens === 0 ? {} : { completion_tokens_details: { reasoning_tokens: answer.reasoningTokens } }),
  };
}

/** A chat stream: the role chunk, one event per choice and step, the finishes, the usage chunk, [DONE]. */
async function streamOpenAiChat(
  res: ServerResponse,
  ctx: { id: string; model: string; answer: FakeChatAnswer; usage: unknown; b: FakeBehaviour; includeUsage: boolean; cut: () => void; signal: AbortSignal },
): Promise<void> {
  const { id, model, answer, usage, b } = ctx;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const frame = (choices: unknown[], withUsage?: unknown) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model, system_fingerprint: 'fp_fake', choices, ...(withUsage === undefined ? {} : { usage: withUsage }) })}\n\n`;
  const steps = fakeDeltas(answer);
  // vLLM's continuous usage: the counts so far on every chunk with choices.
  const runningUsage = (step: number) => {
    if (!b.continuousUsage || !usage) return undefined;
    const completion = Math.round((answer.completionTokens * step) / Math.max(1, steps.length));
    return { prompt_tokens: answer.promptTokens, completion_tokens: completion, total_tokens: answer.promptTokens + completion };
  };
  for (const choice of answer.choices) {
    res.write(frame([{ index: choice.index, delta: { role: 'assistant', content: choice.toolCall ? null : '' }, logprobs: null, finish_reason: null }], runningUsage(0)));
  }
  const outcome = await playTokens(ctx, steps.length, (i) => {
    for (const event of steps[i] ?? []) res.write(frame([event], runningUsage(i + 1)));
  });
  if (outcome === 'ended') res.end();
  if (outcome !== 'complete') return;
  answer.choices.forEach((choice, i) => {
    const finish = { index: choice.index, delta: {}, logprobs: null, finish_reason: choice.finishReason };
    const last = i === answer.choices.length - 1;
    res.write(frame([finish], (last && b.usageWithChoices) || b.continuousUsage ? usage : undefined));
  });
  if (!b.usageWithChoices && ctx.includeUsage && usage) res.write(frame([], usage));
  res.end('data: [DONE]\n\n');
}

/** A Responses request as the chat request the shared answer reads: text and image parts, function tools, the format. */
function chatShapeOfResponses(body: Body): Body {
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input.map(asRecord) : [];
  const messages = items.map((item) => {
    if (item.type === 'function_call_output') return { role: 'tool', content: item.output };
    if (item.type === 'function_call') return { role: 'assistant', content: '' };
    const content = Array.isArray(item.content)
      ? item.content.map(asRecord).map((part) => (part.type === 'input_image' ? { type: 'image_url' } : { type: 'text', text: part.text }))
      : item.content;
    return { role: item.role, content };
  });
  if (typeof body.instructions === 'string') messages.unshift({ role: 'system', content: body.instructions });
  const tools = (Array.isArray(body.tools) ? body.tools.map(asRecord) : []).map((tool) => ({ type: 'function', function: { name: tool.name } }));
  const format = asRecord(asRecord(body.text).format).type;
  return {
    messages,
    tools,
    tool_choice: body.tool_choice,
    response_format: format === 'json_schema' || format === 'json_object' ? { type: format } : undefined,
    max_completion_tokens: body.max_output_tokens,
  };
}

interface FakeResponse {
  /** The whole response, as a non-streamed answer and response.completed carry it. */
  whole: Body;
  /** The same before its output, as response.created and response.in_progress carry it. */
  opening: Body;
  items: { reasoning: Body | undefined; call: Body | undefined; message: Body | undefined };
}

function fakeResponse(id: string, model: string, body: Body, answer: FakeChatAnswer, b: FakeBehaviour): FakeResponse {
  const choice = answer.choices[0] as FakeChoice;
  const n = id.slice(id.lastIndexOf('_') + 1);
  const reasoning = choice.reasoning.length > 0 ? { type: 'reasoning', id: `rs_fake_${n}`, summary: [{ type: 'summary_text', text: choice.reasoning.join('') }] } : undefined;
  const call = choice.toolCall && {
    type: 'function_call',
    id: `fc_fake_${n}`,
    call_id: choice.toolCall.id,
    name: choice.toolCall.name,
    arguments: choice.toolCall.argumentPieces.join(''),
    status: 'completed',
  };
  const message = choice.toolCall
    ? undefined
    : { type: 'message', id: `msg_fake_${n}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: choice.pieces.join(''), annotations: [] }] };
  const usage = b.omitUsage
    ? null
    : {
        input_tokens: answer.promptTokens,
        input_tokens_details: { cached_tokens: b.cachedTokens ?? 0 },
        output_tokens: answer.completionTokens,
        output_tokens_details: { reasoning_tokens: answer.reasoningTokens },
        total_tokens: answer.promptTokens + answer.completionTokens,
      };
  const common = {
    id,
    object: 'response',
    created_at: 1_700_000_000,
    model,
    instructions: body.instructions ?? null,
    tools: body.tools ?? [],
    previous_response_id: body.previous_response_id ?? null,
    store: body.store ?? true,
    metadata: body.metadata ?? {},
  };
  const incomplete = choice.finishReason === 'length';
  return {
    whole: {
      ...common,
      status: incomplete ? 'incomplete' : 'completed',
      incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
      output: [reasoning, call, message].filter((item) => item !== undefined),
      usage,
    },
    opening: { ...common, status: 'in_progress', incomplete_details: null, output: [], usage: null },
    items: { reasoning, call, message },
  };
}

/** A Responses stream: created, in_progress, each output item with its deltas, then completed (or incomplete). */
async function streamResponse(
  res: ServerResponse,
  ctx: { response: FakeResponse; answer: FakeChatAnswer; b: FakeBehaviour; cut: () => void; signal: AbortSignal },
): Promise<void> {
  const { response, answer } = ctx;
  const choice = answer.choices[0] as FakeChoice;
  let sequence = 0;
  const event = (type: string, fields: Body) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(event('response.created', { response: response.opening }));
  res.write(event('response.in_progress', { response: response.opening }));
  // Each step writes its events; the deltas are the steps the fake's faults and delays come between.
  const steps: (() => string)[] = [];
  let index = 0;
  const { reasoning, call, message } = response.items;
  if (reasoning) {
    const at = index++;
    steps.push(() => event('response.output_item.added', { output_index: at, item: { ...reasoning, summary: [] } }));
    choice.reasoning.forEach((delta, i) => {
      const open = i === 0 ? event('response.reasoning_summary_part.added', { item_id: reasoning.id, output_index: at, summary_index: 0, part: { type: 'summary_text', text: '' } }) : '';
      steps.push(() => open + event('response.reasoning_summary_text.delta', { item_id: reasoning.id, output_index: at, summary_index: 0, delta }));
    });
    steps.push(() => event('response.output_item.done', { output_index: at, item: reasoning }));
  }
  if (call && choice.toolCall) {
    const at = index++;
    steps.push(() => event('response.output_item.added', { output_index: at, item: { ...call, arguments: '', status: 'in_progress' } }));
    for (const delta of choice.toolCall.argumentPieces) steps.push(() => event('response.function_call_arguments.delta', { item_id: call.id, output_index: at, delta }));
    steps.push(() => event('response.function_call_arguments.done', { item_id: call.id, output_index: at, arguments: call.arguments }) + event('response.output_item.done', { output_index: at, item: call }));
  }
  if (message) {
    const at = index;
    const text = choice.pieces.join('');
    steps.push(
      () =>
        event('response.output_item.added', { output_index: at, item: { ...message, status: 'in_progress', content: [] } }) +
        event('response.content_part.added', { item_id: message.id, output_index: at, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    );
    for (const delta of choice.pieces) steps.push(() => event('response.output_text.delta', { item_id: message.id, output_index: at, content_index: 0, delta }));
    steps.push(
      () =>
        event('response.output_text.done', { item_id: message.id, output_index: at, content_index: 0, text }) +
        event('response.content_part.done', { item_id: message.id, output_index: at, content_index: 0, part: { type: 'output_text', text, annotations: [] } }) +
        event('response.output_item.done', { output_index: at, item: message }),
    );
  }
  const outcome = await playTokens(ctx, steps.length, (i) => res.write(steps[i]?.() ?? ''));
  if (outcome === 'ended') res.end();
  if (outcome !== 'complete') return;
  const status = String(response.whole.status);
  res.end(event(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: response.whole }));
}

function ollamaGenerateFinal(model: string, gen: Generation, b: FakeBehaviour, content: string) {
  return {
    model,
    created_at: '2026-01-01T00:00:00Z',
    response: content,
    done: true,
    done_reason: gen.finishReason,
    total_duration: 1_000_000,
    ...(b.omitUsage ? {} : { prompt_eval_count: gen.promptTokens, eval_count: gen.tokens.length }),
  };
}

async function streamOllamaGenerate(res: ServerResponse, ctx: StreamContext): Promise<void> {
  const { model, gen, b } = ctx;
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const outcome = await playTokens(ctx, gen.tokens.length, (i) => {
    const token = gen.tokens[i] as string;
    const part = { response: token };
    res.write(`${JSON.stringify({ model, created_at: '2026-01-01T00:00:00Z', ...part, done: false })}\n`);
  });
  if (outcome === 'ended') res.end();
  if (outcome !== 'complete') return;
  res.end(`${JSON.stringify(ollamaGenerateFinal(model, gen, b, ''))}\n`);
}

/** An Ollama chat body as the OpenAI-shaped request the shared answer reads: images become image parts, format JSON. */
function openAiShapeOf(body: Body): Body {
  const messages = (Array.isArray(body.messages) ? body.messages : []).map((item) => {
    const message = asRecord(item);
    const images = Array.isArray(message.images) ? message.images : [];
    const content = images.length === 0 ? message.content : [{ type: 'text', text: message.content }, ...images.map(() => ({ type: 'image_url' }))];
    return { ...message, content };
  });
  return {
    messages,
    tools: body.tools,
    response_format: body.format === undefined ? undefined : { type: 'json_object' },
    max_tokens: asRecord(body.options).num_predict,
  };
}

/** Ollama's message: thinking beside the content, tool calls whole with arguments as an object and no id. */
function ollamaMessage(choice: FakeChoice, content: string, thinking: string, withToolCall: boolean): Body {
  const message: Body = { role: 'assistant', content };
  if (thinking) message.thinking = thinking;
  if (withToolCall && choice.toolCall) {
    message.tool_calls = [{ function: { name: choice.toolCall.name, arguments: JSON.parse(choice.toolCall.argumentPieces.join('')) as unknown } }];
  }
  return message;
}

function ollamaChatFinal(model: string, answer: FakeChatAnswer, b: FakeBehaviour, message: Body) {
  const choice = answer.choices[0] as FakeChoice;
  return {
    model,
    created_at: '2026-01-01T00:00:00Z',
    message,
    done: true,
    done_reason: choice.finishReason === 'length' ? 'length' : 'stop',
    total_duration: 1_000_000,
    ...(b.omitUsage ? {} : { prompt_eval_count: answer.promptTokens, eval_count: answer.completionTokens }),
  };
}

/** A chat stream as Ollama sends it: thinking lines, a tool call line, content lines, the final line with counts. */
async function streamOllamaChat(
  res: ServerResponse,
  ctx: { model: string; answer: FakeChatAnswer; b: FakeBehaviour; cut: () => void; signal: AbortSignal },
): Promise<void> {
  const { model, answer, b } = ctx;
  const choice = answer.choices[0] as FakeChoice;
  const lines: Body[] = [
    ...choice.reasoning.map((piece) => ollamaMessage(choice, '', piece, false)),
    ...(choice.toolCall ? [ollamaMessage(choice, '', '', true)] : []),
    ...choice.pieces.map((piece) => ollamaMessage(choice, piece, '', false)),
  ];
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const outcome = await playTokens(ctx, lines.length, (i) => {
    res.write(`${JSON.stringify({ model, created_at: '2026-01-01T00:00:00Z', message: lines[i], done: false })}\n`);
  });
  if (outcome === 'ended') res.end();
  if (outcome !== 'complete') return;
  res.end(`${JSON.stringify(ollamaChatFinal(model, answer, b, { role: 'assistant', content: '' }))}\n`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '11435' },
      host: { type: 'string', default: '127.0.0.1' },
      tokens: { type: 'string' },
      'first-token-delay-ms': { type: 'string' },
      'token-delay-ms': { type: 'string' },
      models: { type: 'string' },
    },
  });
  const behaviour: Partial<FakeBehaviour> = {};
  if (values.tokens) behaviour.tokens = Number.parseInt(values.tokens, 10);
  if (values['first-token-delay-ms']) behaviour.firstTokenDelayMs = Number.parseInt(values['first-token-delay-ms'], 10);
  if (values['token-delay-ms']) behaviour.tokenDelayMs = Number.parseInt(values['token-delay-ms'], 10);
  const upstream = await startFakeUpstream({
    port: Number.parseInt(values.port, 10),
    host: values.host,
    behaviour,
    models: values.models?.split(','),
    recordRequests: false,
  });
  process.stdout.write(`fake upstream listening on ${upstream.url} (OpenAI base ${upstream.openaiBaseUrl})\n`);
  const stop = () => void upstream.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
