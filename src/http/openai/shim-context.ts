import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../../deps.ts';
import { completionCaller, type CompletionCaller } from '../../modules/completion/index.ts';
import { authenticateV1Caller } from '../authenticate.ts';
import { callerSentRequestId } from '../request-id.ts';
import { traceparentOf } from '../traceparent.ts';

/** Authenticates a /v1 request and names the tenant it acts for; the same auth as GraphQL. */
export async function shimCaller(deps: AppDeps, req: IncomingMessage, requestId: string): Promise<CompletionCaller> {
  const principal = await authenticateV1Caller(deps, req);
  // The platform still manages a suspended tenant, but serves it nothing (its own keys are refused when they authenticate).
  if (principal.kind === 'platform' && principal.tenantId !== undefined) await deps.auth.requireActiveTenant(principal.tenantId);
  return completionCaller(principal, requestId, { surface: 'v1', traceparent: traceparentOf(req), requestIdGiven: callerSentRequestId(req, requestId) });
}

/** Why a /v1 request stopped when its client left: nothing to answer and nothing gone wrong. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

/** Aborts when the client goes away before the response is complete, so the upstream is released. */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new ClientGone());
  });
  return controller.signal;
}
