import { notFound } from '../shared/errors.ts';

/** A tenant's routing settings from its inference config. */
export interface TenantRoutingPrefs {
  /** Deployments on this provider are tried first. */
  preferredProvider?: string;
  /** Off: the request goes to one deployment only, never to another one when it fails. */
  autoFailover: boolean;
  /** Requested model name -> the configured model that serves it for this tenant. */
  modelOverrides?: Record<string, string>;
  /** When set, only these requested names are served; others are NOT_FOUND, as if not configured. */
  allowedModels?: string[];
  /** Provider name -> the tenant's own API key, used instead of the provider's. */
  credentials?: Record<string, string>;
  /** The tenant's plan, which route rules may look at. */
  planId?: string;
}

/**
 * The configured model a tenant's requested name resolves to. A model the tenant may not use is
 * reported exactly like one that does not exist, so the catalogue of others is not revealed.
 */
export function resolveModelName(requested: string, tenant: TenantRoutingPrefs | undefined): string {
  if (!tenant) return requested;
  if (tenant.allowedModels && !tenant.allowedModels.includes(requested)) throw notFound('model', requested);
  const overrides = tenant.modelOverrides;
  return overrides && Object.hasOwn(overrides, requested) ? (overrides[requested] as string) : requested;
}

export function tenantCredential(tenant: TenantRoutingPrefs | undefined, provider: string): string | undefined {
  const credentials = tenant?.credentials;
  return credentials && Object.hasOwn(credentials, provider) ? credentials[provider] : undefined;
}
