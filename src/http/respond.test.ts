import { once } from 'node:events';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cutResponse } from './respond.ts';

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write('data: one\n\n');
  res.write('data: two\n\n');
  cutResponse(res);
});

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
afterAll(() => server.close());

it('delivers what was written in the same turn, then cuts the response', async () => {
  const { port } = server.address() as AddressInfo;
  const res = await new Promise<IncomingMessage>((resolve, reject) => get({ port, host: '127.0.0.1', agent: false }, resolve).on('error', reject));
  let body = '';
  res.on('data', (chunk: Buffer) => (body += chunk.toString()));
  const [error] = (await once(res, 'error')) as [Error];
  expect(body).toBe('data: one\n\ndata: two\n\n');
  expect(error.message).toMatch(/aborted/);
});
