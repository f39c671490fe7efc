import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import { sendJson } from '../respond.ts';
import { embeddingRequestSchema } from './request-schemas.ts';
import { readJsonBody } from './read-json-body.ts';
import { handedToCompletions } from '../../observability/telemetry.ts';
import { clientGoneSignal, shimCaller } from './shim-context.ts';

/** OpenAI's SDKs ask for base64 by default: little-endian float32, as OpenAI sends it. */
function base64Embedding(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}

export async function embeddings(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const caller = await shimCaller(deps, req, requestId);
  const body = await readJsonBody(req, embeddingRequestSchema, deps.config.server.maxBodyBytes);
  const { model, input, ...extra } = body;
  // The provider hands back numbers whatever the upstream sent; base64 is spelled here, as OpenAI sends it.
  // From here the completion service writes this request's log line.
  handedToCompletions(req);
  const result = await deps.services.completions.embeddings(caller, { model, input, extra }, clientGoneSignal(res));
  const base64 = body.encoding_format === 'base64';
  sendJson(
    res,
    200,
    {
      object: 'list',
      data: result.embeddings.map((embedding, index) => ({ object: 'embedding', index, embedding: base64 ? base64Embedding(embedding) : embedding })),
      model: result.model,
      usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
    },
    result.headers,
  );
}
