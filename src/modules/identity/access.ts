import { forbidden, notFound, unauthenticated } from '../../shared/errors.ts';
import type { Principal, TenantPrincipal } from './principal.ts';

// The authorisation rules every service applies. Another tenant's object is NOT_FOUND, never FORBIDDEN,
// so ids cannot be probed across tenants.

export function requireAuthenticated(principal: Principal): TenantPrincipal {
  if (principal.kind === 'anonymous') throw unauthenticated('authentication required: send "Authorization: Bearer <secret>"');
  return principal;
}

export function requirePlatformAdmin(principal: Principal): void {
  if (requireAuthenticated(principal).kind !== 'platform') throw forbidden('only the platform admin may do this');
}

export function isPlatformAdmin(principal: Principal): boolean {
  return principal.kind === 'platform';
}

/** Reading a tenant's data: the platform, or any principal of that tenant. */
export function requireTenantRead(principal: Principal, tenantId: string, what = 'tenant'): void {
  const p = requireAuthenticated(principal);
  if (p.kind === 'platform') return;
  if (p.tenantId !== tenantId) throw notFound(what, tenantId);
}

/** Changing a tenant's keys or configuration: the platform, a tenant admin user, or a key with the admin scope. */
export function requireTenantAdmin(principal: Principal, tenantId: string, what = 'tenant'): void {
  requireTenantRead(principal, tenantId, what);
  if (principal.kind === 'user' && principal.role !== 'admin') throw forbidden('only a tenant admin may do this');
  if (principal.kind === 'api-key' && !principal.scopes.includes('admin')) throw forbidden('this API key lacks the "admin" scope');
}

/** The tenant a caller acts within: its own, or the one the platform named with X-Tenant-ID. */
export function requireActingTenant(principal: Principal): string {
  const p = requireAuthenticated(principal);
  if (p.tenantId === undefined) throw forbidden('the platform admin must name a tenant with X-Tenant-ID');
  return p.tenantId;
}
