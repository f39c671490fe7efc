import type { AppDeps } from './deps.ts';
import type { Principal } from './modules/identity/index.ts';
import { createLoaders, type Loaders } from './loaders.ts';

/** Per-request context, built the same way for HTTP and for each WebSocket subscription. */
export interface GraphQLContext {
  requestId: string;
  /** The caller sent the request id (X-Request-ID); a subscription's is always minted here. */
  requestIdGiven: boolean;
  principal: Principal;
  deps: AppDeps;
  loaders: Loaders;
}

export function buildContext(deps: AppDeps, requestId: string, principal: Principal, requestIdGiven = false): GraphQLContext {
  return { requestId, requestIdGiven, principal, deps, loaders: createLoaders(deps.db.db, deps.usageStore) };
}
