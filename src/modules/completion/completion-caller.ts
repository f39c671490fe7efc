import { forbidden } from '../../shared/errors.ts';
import { requireActingTenant } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';

/** Who a completion is for, as usage events and limits need it. */
export interface CompletionCaller {
  tenantId: string;
  userId: string | null;
  apiKeyId: string | null;
  requestId: string;
}

/** Any principal acting within a tenant may run completions; an API key needs the inference scope. */
export function completionCaller(principal: Principal, requestId: string): CompletionCaller {
  const tenantId = requireActingTenant(principal);
  if (principal.kind === 'api-key' && !principal.scopes.includes('inference')) {
    throw forbidden('this API key lacks the "inference" scope');
  }
  return {
    tenantId,
    userId: principal.kind === 'anonymous' ? null : (principal.userId ?? null),
    apiKeyId: principal.kind === 'api-key' ? principal.keyId : null,
    requestId,
  };
}
