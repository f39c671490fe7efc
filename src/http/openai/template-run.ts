import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AppDeps } from '../../deps.ts';
import { badInput } from '../../shared/errors.ts';
import { handedToCompletions } from '../../observability/telemetry.ts';
import { cacheChoice, sendChatAnswer, sendChatStream } from './chat-completions.ts';
import { readJsonBody } from './read-json-body.ts';
import { clientGoneSignal, shimCaller } from './shim-context.ts';

export const templateRunPrefix = '/v1/templates/';
const runSuffix = '/run';

export const templateRunRequestSchema = z.strictObject({
  variables: z.record(z.string(), z.unknown()).default({}).describe('A string, number or boolean for each variable the template uses, and no others.'),
  version: z.number().int().min(1).optional().describe('Pin a version; omitted: the latest.'),
  stream: z.boolean().optional().describe('Stream the answer as chat.completion.chunk SSE (the last chunk before [DONE] carries usage).'),
});

/** The template named in /v1/templates/{name}/run, or undefined for any other path. */
export function templateNameOf(path: string): string | undefined {
  if (!path.startsWith(templateRunPrefix) || !path.endsWith(runSuffix)) return undefined;
  const name = path.slice(templateRunPrefix.length, -runSuffix.length);
  return name.length > 0 && !name.includes('/') ? name : undefined;
}

/** POST /v1/templates/{name}/run: renders the template with the variables and answers as a chat completion. */
export async function runTemplate(deps: AppDeps, req: IncomingMessage, res: ServerResponse, requestId: string, path: string): Promise<void> {
  let name: string;
  try {
    name = decodeURIComponent(templateNameOf(path) ?? '');
  } catch {
    throw badInput('the template name in the path is not valid percent-encoding');
  }
  const caller = await shimCaller(deps, req, requestId);
  const body = await readJsonBody(req, templateRunRequestSchema, deps.config.server.maxBodyBytes);
  // From here the completion service writes this request's log line.
  handedToCompletions(req);
  const signal = clientGoneSignal(res);
  const stream = body.stream === true;
  const run = await deps.services.promptTemplates.prepareRun(caller, { name, variables: body.variables, version: body.version, stream, cache: cacheChoice(req) });
  if (!stream) {
    sendChatAnswer(res, await deps.services.completions.chat(run.caller, run.chat, signal));
    return;
  }
  await sendChatStream(deps, requestId, res, await deps.services.completions.streamChat(run.caller, run.chat, signal), true);
}
