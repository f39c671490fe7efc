import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import { sendJson } from '../respond.ts';
import { shimCaller } from './shim-context.ts';

/** The models the caller's tenant may use (its allowed list and overrides applied). */
export async function listModels(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const models = await deps.services.completions.models(caller);
  sendJson(res, 200, {
    object: 'list',
    data: models.map((model) => ({ id: model.name, object: 'model', created: 0, owned_by: 'tollgate' })),
  });
}
