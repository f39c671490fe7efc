import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppDeps } from '../deps.ts';
import type { GraphqlServer } from './graphql.ts';
import { readGraphqlBody } from './graphql-body.ts';
import type { WebSocketServer } from 'ws';
import { checkDependencies, deploymentSummary, usageBacklog } from './health.ts';
import type { TraceSpan, Tracing } from '../observability/tracing.ts';
import { assignRequestId } from './request-id.ts';
import { cutResponse, sendJson } from './respond.ts';
import { handleUsageExport } from './usage-export.ts';
import { serveConsoleAsset } from './console-assets.ts';
import { handleConsoleSession } from './console-session-routes.ts';
import { createConsoleSsoRoutes } from './console-sso-routes.ts';
import { routeOf, type RouteLabel } from '../observability/telemetry.ts';
import { traceparentOf } from './traceparent.ts';

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
  const { telemetry } = deps;
  const consoleSso = createConsoleSsoRoutes(deps);
  const handle = (req: IncomingMessage, res: ServerResponse, path: string) => {
    route(parts, consoleSso, req, res, path).catch((error: unknown) => {
      deps.logger.error({ err: error, path }, 'unhandled error in the HTTP handler');
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'Unexpected error.', code: 'INTERNAL_SERVER_ERROR' } });
      else cutResponse(res);
    });
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const startedAt = performance.now();
    const requestId = assignRequestId(req, res);
    const path = pathOf(req.url);
    const label = routeOf(path);
    res.once('close', () => telemetry.httpRequest(req, res, label.surface, label.route, requestId, startedAt));
    const tracing = telemetry.tracing;
    if (tracing === undefined) {
      handle(req, res, path);
      return;
    }
    const span = startServerSpan(tracing, req, res, label, requestId);
    tracing.run(span, () => handle(req, res, path));
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

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** A server span per HTTP request (tracing on only), child of the caller's traceparent when it sent one. */
function startServerSpan(tracing: Tracing, req: IncomingMessage, res: ServerResponse, label: RouteLabel, requestId: string): TraceSpan {
  const span = tracing.startSpan(`${req.method} ${label.route}`, {
    parent: traceparentOf(req),
    kind: 'server',
    attributes: { 'http.request.method': req.method, 'http.route': label.route, 'tollgate.surface': label.surface, 'tollgate.request_id': requestId },
  });
  res.once('close', () => {
    span.setAttributes({ 'http.response.status_code': res.statusCode, 'tollgate.aborted': !res.writableFinished });
    if (res.statusCode >= 500) span.fail(new Error(`HTTP ${res.statusCode}`));
    span.end();
  });
  return span;
}

type ConsoleSsoRoutes = ReturnType<typeof createConsoleSsoRoutes>;

async function route(parts: HttpServerParts, consoleSso: ConsoleSsoRoutes, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (path === '/graphql') {
    if (!(await readGraphqlBody(req, res, parts.deps.config.server.maxBodyBytes))) return;
    await parts.yoga.requestListener(req, res);
    return;
  }
  if (path === '/console/session') {
    await handleConsoleSession(parts.deps, req, res);
    return;
  }
  if (path === '/console/sso/start' || path === '/console/sso/callback') {
    await consoleSso(req, res, path);
    return;
  }
  if (path === '/console' || path.startsWith('/console/')) {
    await serveConsoleAsset(req, res, path);
    return;
  }
  if (path === '/v1/usage/export') {
    await handleUsageExport(parts.deps, req, res);
    return;
  }
  if (path.startsWith('/v1/')) {
    await parts.openAi(req, res, path);
    return;
  }
  // /health is the path the platform's seeds probe; it answers exactly as /healthz.
  if (path === '/healthz' || path === '/health') {
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
      usage: usageBacklog(parts.deps),
      deployments: deploymentSummary(parts.deps),
    });
    return;
  }
  if (path === '/metrics') {
    const { metrics } = parts.deps.telemetry;
    const body = await metrics.render();
    res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  sendJson(res, 404, { error: { message: `no route for ${req.method} ${path}`, type: 'invalid_request_error', code: 'NOT_FOUND' } });
}
