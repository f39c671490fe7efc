import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppDeps } from '../deps.ts';
import type { GraphqlServer } from './graphql.ts';
import type { WebSocketServer } from 'ws';
import { checkDependencies } from './health.ts';
import { assignRequestId } from './request-id.ts';
import { sendJson } from './respond.ts';

export interface HttpServerParts {
  deps: AppDeps;
  yoga: GraphqlServer;
  wss: WebSocketServer;
  /** True once shutdown began: readiness fails so the load balancer stops sending traffic. */
  isDraining: () => boolean;
  openAi: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;
}

/** One node:http server for every surface; routing is a switch on the path, not a framework. */
export function createHttpServer(parts: HttpServerParts): Server {
  const { deps, yoga, wss } = parts;
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    assignRequestId(req, res);
    route(parts, req, res).catch((error: unknown) => {
      deps.logger.error({ err: error, path: req.url }, 'unhandled error in the HTTP handler');
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'Unexpected error.', code: 'INTERNAL_SERVER_ERROR' } });
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== yoga.graphqlEndpoint || parts.isDraining()) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  return server;
}

async function route(parts: HttpServerParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/graphql') {
    await parts.yoga.requestListener(req, res);
    return;
  }
  if (path.startsWith('/v1/')) {
    await parts.openAi(req, res, path);
    return;
  }
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' });
    return;
  }
  if (path === '/readyz') {
    const checks = await checkDependencies(parts.deps);
    const failing = checks.filter((c) => !c.ok).map((c) => c.name);
    if (parts.isDraining()) failing.push('draining');
    sendJson(res, failing.length ? 503 : 200, {
      status: failing.length ? 'unavailable' : 'ready',
      ...(failing.length ? { failing } : {}),
      checks,
    });
    return;
  }
  sendJson(res, 404, { error: { message: `no route for ${req.method} ${path}`, type: 'invalid_request_error', code: 'NOT_FOUND' } });
}
