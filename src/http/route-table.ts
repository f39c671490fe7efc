import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../deps.ts';
import type { Surface } from '../observability/metrics.ts';
import { DomainError } from '../shared/errors.ts';
import { handleConsoleSession } from './console-session-routes.ts';
import { serveConsoleAsset } from './console-assets.ts';
import { createConsoleSsoRoutes } from './console-sso-routes.ts';
import type { GraphqlServer } from './graphql.ts';
import { readGraphqlBody } from './graphql-body.ts';
import { checkDependencies, deploymentSummary, usageBacklog } from './health.ts';
import { chatCompletions } from './openai/chat-completions.ts';
import { embeddings } from './openai/embeddings.ts';
import { feedback } from './openai/feedback.ts';
import { listModels, retrieveModel } from './openai/models.ts';
import { buildOpenApiDocument, openApiOperations, type OpenApiOperation } from './openai/openapi.ts';
import { responses } from './openai/responses.ts';
import { runTemplate, templateNameOf, templateRunPrefix } from './openai/template-run.ts';
import { textCompletions } from './openai/text-completions.ts';
import { sendJson } from './respond.ts';
import { tenantUsage } from './tenant-usage.ts';
import { handleUsageExport } from './usage-export.ts';

export interface RouteContext {
  deps: AppDeps;
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  requestId: string;
}

/** How a route checks its caller. */
export type RouteAuth =
  | 'public'
  /** authenticateV1Caller: an API key, a dashboard JWT, or the platform admin key (with X-Tenant-ID to act in a tenant). */
  | 'v1-caller'
  /** Per operation, in GraphQL's context: the same credentials, or the console's session cookie. */
  | 'graphql'
  /** The console's own sign-in: a session cookie, SSO, or nothing for its static assets. */
  | 'console';

/** The label a request's metrics, log line and trace span carry: one shared object per route. */
export interface RouteLabel {
  readonly surface: Surface;
  readonly route: string;
}

export interface Route {
  /** ANY: the handler tells the methods apart (GraphQL, the console's forms) or takes them all (probes). */
  method: 'GET' | 'POST' | 'ANY';
  /** An exact path, or a prefix ending in '/' when `prefix` is set. */
  path: string;
  prefix?: boolean;
  auth: RouteAuth;
  label: RouteLabel;
  /** Errors are answered in OpenAI's shape, as the /v1 clients expect. */
  openAiWire?: boolean;
  /** The route's entry in /v1/openapi.json, under `openApiPath` when the path has a parameter. */
  openApi?: OpenApiOperation;
  openApiPath?: string;
  handle(context: RouteContext): Promise<void>;
}

export interface RouteTableParts {
  deps: AppDeps;
  yoga: GraphqlServer;
  /** True once shutdown began: readiness fails so the load balancer stops sending traffic. */
  isDraining: () => boolean;
}

const label = (surface: Surface, route: string): RouteLabel => Object.freeze({ surface, route });
/** Unknown paths share one label each, so a scan of random paths adds no metric series. */
export const unknownV1Label = label('v1', '/v1/other');
export const unknownLabel = label('other', 'other');

type V1Handler = (deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;
const v1 = (handler: V1Handler) => ({ deps, req, res, requestId }: RouteContext) => handler(deps, req, res, requestId);

/** Every HTTP route of the gateway: a new one is added here, and metrics, traces and OpenAPI follow. */
export function createRouteTable(parts: RouteTableParts): readonly Route[] {
  const { deps, yoga } = parts;
  const consoleSso = createConsoleSsoRoutes(deps);
  let openApiJson: string | undefined;
  const v1Route = (method: 'GET' | 'POST', path: string, handler: V1Handler, openApi?: OpenApiOperation): Route => ({
    method,
    path,
    auth: 'v1-caller',
    label: label('v1', path),
    openAiWire: true,
    openApi,
    handle: v1(handler),
  });
  const routes: Route[] = [
    {
      method: 'ANY',
      path: '/graphql',
      auth: 'graphql',
      label: label('graphql', '/graphql'),
      handle: async ({ req, res }) => {
        if (await readGraphqlBody(req, res, deps.config.server.maxBodyBytes)) await yoga.requestListener(req, res);
      },
    },
    v1Route('POST', '/v1/chat/completions', chatCompletions, openApiOperations.chatCompletions),
    v1Route('POST', '/v1/completions', textCompletions, openApiOperations.completions),
    v1Route('POST', '/v1/responses', responses, openApiOperations.responses),
    v1Route('POST', '/v1/embeddings', embeddings, openApiOperations.embeddings),
    v1Route('POST', '/v1/feedback', feedback, openApiOperations.feedback),
    {
      ...v1Route('POST', templateRunPrefix, (deps, req, res, requestId) => runTemplate(deps, req, res, requestId, ''), openApiOperations.templateRun),
      prefix: true,
      label: label('v1', '/v1/templates/:name/run'),
      openApiPath: '/v1/templates/{name}/run',
      handle: async ({ deps, req, res, path, requestId }) => {
        if (templateNameOf(path) === undefined) {
          req.resume();
          throw new DomainError('NOT_FOUND', `no route for ${req.method} ${path}`);
        }
        await runTemplate(deps, req, res, requestId, path);
      },
    },
    v1Route('GET', '/v1/models', listModels, openApiOperations.listModels),
    // A model id may hold slashes (Qwen/Qwen2.5-7B): everything after /v1/models/ is the id.
    { ...v1Route('GET', '/v1/models/', retrieveModel, openApiOperations.retrieveModel), prefix: true, label: label('v1', '/v1/models/:id'), openApiPath: '/v1/models/{id}' },
    v1Route('GET', '/v1/usage/export', (deps, req, res) => handleUsageExport(deps, req, res), openApiOperations.usageExport),
    v1Route('GET', '/v1/usage', tenantUsage, openApiOperations.tenantUsage),
    {
      ...v1Route('GET', '/v1/openapi.json', async (_deps, req, res) => {
        req.resume();
        openApiJson ??= JSON.stringify(buildOpenApiDocument(openApiPaths(routes)));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(openApiJson) });
        res.end(openApiJson);
      }),
      auth: 'public',
    },
    { method: 'ANY', path: '/console/session', auth: 'console', label: label('other', '/console/session'), handle: ({ req, res }) => handleConsoleSession(deps, req, res) },
    ...['/console/sso/start', '/console/sso/callback'].map(
      (path): Route => ({ method: 'ANY', path, auth: 'console', label: label('other', path), handle: ({ req, res }) => consoleSso(req, res, path) }),
    ),
    { method: 'ANY', path: '/console', auth: 'console', label: label('other', '/console'), handle: ({ req, res, path }) => serveConsoleAsset(req, res, path) },
    { method: 'ANY', path: '/console/', prefix: true, auth: 'console', label: label('other', '/console'), handle: ({ req, res, path }) => serveConsoleAsset(req, res, path) },
    // /health is the path the platform's seeds probe; it answers exactly as /healthz.
    ...['/healthz', '/health'].map((path): Route => ({ method: 'ANY', path, auth: 'public', label: label('ops', path), handle: async ({ res }) => sendJson(res, 200, { status: 'ok' }) })),
    { method: 'ANY', path: '/readyz', auth: 'public', label: label('ops', '/readyz'), handle: ({ res }) => ready(parts, res) },
    {
      method: 'ANY',
      path: '/metrics',
      auth: 'public',
      label: label('ops', '/metrics'),
      handle: async ({ res }) => {
        const { metrics } = deps.telemetry;
        const body = await metrics.render();
        res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    },
  ];
  return routes;
}

async function ready(parts: RouteTableParts, res: ServerResponse): Promise<void> {
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
}

function openApiPaths(routes: readonly Route[]): Record<string, Record<string, OpenApiOperation>> {
  const paths: Record<string, Record<string, OpenApiOperation>> = {};
  for (const route of routes) {
    if (route.openApi === undefined || route.method === 'ANY') continue;
    const path = route.openApiPath ?? route.path;
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: route.openApi };
  }
  return paths;
}

export interface RouteLookup {
  /** The route taking this method at this path, if any. */
  route: Route | undefined;
  /** Every route at the path: some but no `route` is a 405, none a 404. */
  atPath: readonly Route[];
}

/** Finds a request's route with one map lookup (prefix routes, few, are tried after). */
export function routeFinder(routes: readonly Route[]): (method: string | undefined, path: string) => RouteLookup {
  const exact = new Map<string, Route[]>();
  for (const route of routes) if (!route.prefix) exact.set(route.path, [...(exact.get(route.path) ?? []), route]);
  const prefixed = routes.filter((route) => route.prefix);
  const none: readonly Route[] = [];
  return (method, path) => {
    const atPath = exact.get(path) ?? prefixed.filter((route) => path.startsWith(route.path));
    const found = atPath.length ? atPath : none;
    return { route: found.find((r) => r.method === 'ANY' || r.method === method), atPath: found };
  };
}
