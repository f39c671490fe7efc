import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { AppDeps } from '../deps.ts';
import type { TraceSpan, Tracing } from '../observability/tracing.ts';
import { DomainError } from '../shared/errors.ts';
import type { GraphqlServer } from './graphql.ts';
import { sendOpenAiError } from './openai/error-response.ts';
import { assignRequestId, RequestIdResponse } from './request-id.ts';
import { cutResponse, sendJson } from './respond.ts';
import { createRouteTable, routeFinder, unknownLabel, unknownV1Label, type RouteContext, type RouteLabel, type RouteLookup } from './route-table.ts';
import { traceparentOf } from './traceparent.ts';

export interface HttpServerParts {
  deps: AppDeps;
  yoga: GraphqlServer;
  wss: WebSocketServer;
  /** True once shutdown began: readiness fails so the load balancer stops sending traffic. */
  isDraining: () => boolean;
}

/** One node:http server for every surface; the routes are the table in route-table.ts. */
export function createHttpServer(parts: HttpServerParts): Server {
  const { deps, yoga, wss } = parts;
  const { telemetry } = deps;
  const findRoute = routeFinder(createRouteTable(parts));
  const server = createServer({ keepAliveTimeout: 65_000, ServerResponse: RequestIdResponse }, (req, res) => {
    const startedAt = performance.now();
    const requestId = assignRequestId(req, res);
    const path = pathOf(req.url);
    const found = findRoute(req.method, path);
    const label = found.route?.label ?? found.atPath[0]?.label ?? (path.startsWith('/v1/') ? unknownV1Label : unknownLabel);
    res.once('close', () => telemetry.httpRequest(req, res, label.surface, label.route, requestId, startedAt));
    const handle = () => void serve(deps, found, { deps, req, res, path, requestId });
    const tracing = telemetry.tracing;
    if (tracing === undefined) {
      handle();
      return;
    }
    const span = startServerSpan(tracing, req, res, label, requestId);
    tracing.run(span, handle);
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

async function serve(deps: AppDeps, { route, atPath }: RouteLookup, context: RouteContext): Promise<void> {
  const { req, res, path, requestId } = context;
  const openAiWire = route?.openAiWire ?? (atPath[0]?.openAiWire || path.startsWith('/v1/'));
  try {
    if (route) {
      await route.handle(context);
      return;
    }
    req.resume();
    if (atPath.length > 0) {
      const allow = atPath.map((r) => r.method).join(', ');
      sendJson(res, 405, { error: { message: `${req.method} is not allowed on ${path}`, type: 'invalid_request_error', param: null, code: 'method_not_allowed' } }, { allow });
    } else if (openAiWire) {
      throw new DomainError('NOT_FOUND', `no route for ${req.method} ${path}`);
    } else {
      sendJson(res, 404, { error: { message: `no route for ${req.method} ${path}`, type: 'invalid_request_error', code: 'NOT_FOUND' } });
    }
  } catch (error) {
    if (res.headersSent) {
      if (!openAiWire) deps.logger.error({ err: error, path }, 'unhandled error in the HTTP handler');
      cutResponse(res);
    } else if (openAiWire) {
      sendOpenAiError(res, error, deps.logger, requestId);
    } else {
      deps.logger.error({ err: error, path }, 'unhandled error in the HTTP handler');
      sendJson(res, 500, { error: { message: 'Unexpected error.', code: 'INTERNAL_SERVER_ERROR' } });
    }
  }
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
