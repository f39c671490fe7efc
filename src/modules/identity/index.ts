// The identity module's door: what other modules and the app may use. Everything else in the folder is private.
export { isPlatformAdmin, requireActingTenant, requireAuthenticated, requirePlatformAdmin, requireTenantAdmin, requireTenantRead } from './access.ts';
export { describeActor } from './principal.ts';
export type { Credentials, Principal, TenantPrincipal } from './principal.ts';
