import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import { DomainError } from '../../shared/errors.ts';
import { requestIdOf } from '../request-id.ts';
import { cutResponse, sendJson } from '../respond.ts';
import { chatCompletions } from './chat-completions.ts';
import { embeddings } from './embeddings.ts';
import { sendOpenAiError } from './error-response.ts';
import { listModels, retrieveModel } from './models.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { responses } from './responses.ts';
import { runTemplate, templateNameOf } from './template-run.ts';
import { textCompletions } from './text-completions.ts';
import { usage } from './usage.ts';

const modelPrefix = '/v1/models/';

type Handler = (deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;

/** The OpenAI-compatible shim: plain node:http handlers over the same services GraphQL uses. */
export function createOpenAiShim(deps: AppDeps, extraRoutes: Record<string, Handler> = {}) {
  const openApi = JSON.stringify(buildOpenApiDocument());
  const routes: Record<string, Handler> = {
    'POST /v1/chat/completions': chatCompletions,
    'POST /v1/completions': textCompletions,
    'POST /v1/responses': responses,
    'POST /v1/embeddings': embeddings,
    'GET /v1/models': listModels,
    'GET /v1/usage': usage,
    'GET /v1/openapi.json': async (_deps, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(openApi) });
      res.end(openApi);
    },
    ...extraRoutes,
  };
  const paths = new Set(Object.keys(routes).map((key) => key.slice(key.indexOf(' ') + 1)));

  return async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const requestId = requestIdOf(req) ?? '';
    // A model id may hold slashes (Qwen/Qwen2.5-7B): everything after /v1/models/ is the id.
    const handler =
      routes[`${req.method} ${path}`] ??
      (req.method === 'GET' && path.startsWith(modelPrefix) ? retrieveModel : undefined) ??
      // 'POST /v1/templates/{name}/run': the name is part of the path.
      (req.method === 'POST' && templateNameOf(path) !== undefined ? (d: AppDeps, rq: IncomingMessage, rs: ServerResponse, id: string) => runTemplate(d, rq, rs, id, path) : undefined);
    try {
      if (!handler) {
        req.resume();
        if (paths.has(path)) {
          sendJson(res, 405, { error: { message: `${req.method} is not allowed on ${path}`, type: 'invalid_request_error', param: null, code: 'method_not_allowed' } });
        } else {
          throw new DomainError('NOT_FOUND', `no route for ${req.method} ${path}`);
        }
        return;
      }
      await handler(deps, req, res, requestId);
    } catch (error) {
      if (res.headersSent) {
        cutResponse(res);
        return;
      }
      sendOpenAiError(res, error, deps.logger, requestId);
    }
  };
}
