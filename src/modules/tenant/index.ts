// The tenant module's door: what other modules and the app may use. Everything else in the folder is private.
export { findTenantById, listTenantIdsOnPlan } from './tenant.repository.ts';
export { TenantService } from './tenant.service.ts';
export type { Actor } from './tenant.service.ts';
export type { TenantRow, TenantTable } from './tenant.table.ts';
