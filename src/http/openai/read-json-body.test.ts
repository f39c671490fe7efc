import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readJsonBody } from './read-json-body.ts';

const schema = z.object({ prompt: z.string() });
let server: Server | undefined;

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Serves one POST: reads its body, then reports what was read and what the request still listens for. */
function serveOnce(inspect: (req: IncomingMessage, body: unknown) => unknown): Promise<number> {
  server = createServer((req, res) => {
    readJsonBody(req, schema, 1024).then(
      (body) => res.end(JSON.stringify(inspect(req, body))),
      (error: Error) => res.end(JSON.stringify({ error: error.message })),
    );
  });
  return new Promise((resolve) => server!.listen(0, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port)));
}

function post(port: number, chunks: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ port, method: 'POST', path: '/', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('readJsonBody', () => {
  it('reads a body that comes in pieces and then lets go of it: no listener left on the request', async () => {
    const port = await serveOnce((req, body) => ({ body, data: req.listenerCount('data'), error: req.listenerCount('error'), end: req.listenerCount('end') }));
    expect(await post(port, ['{"prompt":', '"hello', ' world"}'])).toEqual({ body: { prompt: 'hello world' }, data: 0, error: 0, end: 0 });
  });

  it('still refuses a body over the limit, naming the limit', async () => {
    const port = await serveOnce((_req, body) => ({ body }));
    expect(await post(port, [`{"prompt":"${'x'.repeat(2048)}"}`])).toEqual({ error: 'the request body is larger than the limit of 1024 bytes' });
  });
});
