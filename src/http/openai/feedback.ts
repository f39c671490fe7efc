import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AppDeps } from '../../deps.ts';
import { sendJson } from '../respond.ts';
import { readJsonBody } from './read-json-body.ts';
import { shimCaller } from './shim-context.ts';

export const feedbackRequestSchema = z.object({
  request_id: z.string().describe("The X-Request-ID of one of the caller's tenant's requests."),
  metric: z.string().describe('Up to 64 letters, digits, "_", ".", ":" or "-", e.g. thumbs_up.'),
  value: z.union([z.number(), z.boolean()]).describe('A number, or a yes/no judgement kept as 1 or 0; the first value per request and metric counts.'),
});

/** POST /v1/feedback: { request_id, metric, value } on one of the caller's tenant's requests. */
export async function feedback(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const body = await readJsonBody(req, feedbackRequestSchema, deps.config.server.maxBodyBytes);
  const recorded = await deps.services.feedback.record(caller, { requestId: body.request_id, metric: body.metric, value: body.value });
  sendJson(res, 200, { object: 'feedback', request_id: recorded.requestId, metric: recorded.metric, value: recorded.value });
}
