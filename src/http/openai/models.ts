import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import { sendJson } from '../respond.ts';
import { shimCaller } from './shim-context.ts';

// What OpenAI's SDKs read of a model: id, object, created (Unix seconds), owned_by.
const modelJson = (name: string) => ({ id: name, object: 'model', created: 0, owned_by: 'tollgate' });

/** The models the caller's tenant may use (its allowed list and overrides applied). */
export async function listModels(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const models = await deps.services.completions.models(caller);
  sendJson(res, 200, { object: 'list', data: models.map((model) => modelJson(model.name)) });
}

function modelId(url: string): string {
  const encoded = url.split('?')[0]!.slice('/v1/models/'.length);
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw badInput(`the model id "${encoded}" is not a valid URL path segment`);
  }
}

/** GET /v1/models/{id}: one model the tenant may use, else 404 as for an unknown one. */
export async function retrieveModel(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const id = modelId(req.url ?? '');
  const models = await deps.services.completions.models(caller);
  if (!models.some((model) => model.name === id)) throw notFound('model', id);
  sendJson(res, 200, modelJson(id));
}
