import { forbidden } from '../../shared/errors.ts';
import { requireActingTenant } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import type { Surface } from '../../observability/metrics.ts';

/** Who a completion is for, as usage events and limits need it. */
export interface CompletionCaller {
  tenantId: string;
  userId: string | null;
  apiKeyId: string | null;
  requestId: string;
  /** The caller sent the request id (X-Request-ID), so a retry may send it again; otherwise it was minted here. */
  requestIdGiven?: boolean;
  /** Which front door the request came through, for metrics and the request log. */
  surface?: Surface;
  /** The caller's W3C traceparent, forwarded upstream when the gateway does not trace itself. */
  traceparent?: string | undefined;
  /** The prompt template the request runs, recorded on its usage event. */
  template?: { name: string; version: number } | undefined;
}

/** Any principal acting within a tenant may run completions; an API key needs the inference scope. */
export function completionCaller(
  principal: Principal,
  requestId: string,
  { surface = 'graphql', traceparent, requestIdGiven = false }: Pick<CompletionCaller, 'surface' | 'traceparent' | 'requestIdGiven'> = {},
): CompletionCaller {
  const tenantId = requireActingTenant(principal);
  if (principal.kind === 'api-key' && !principal.scopes.includes('inference')) {
    throw forbidden('this API key lacks the "inference" scope');
  }
  return {
    tenantId,
    userId: principal.kind === 'anonymous' ? null : (principal.userId ?? null),
    apiKeyId: principal.kind === 'api-key' ? principal.keyId : null,
    requestId,
    requestIdGiven,
    surface,
    traceparent,
  };
}
