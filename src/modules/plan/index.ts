// The plan module's door: what other modules and the app may use. Everything else in the folder is private.
export { priceInForce, tieredCostMicros } from './plan-price.ts';
export { findPlanPrices, findPlansByIds } from './plan.repository.ts';
export { PlanService } from './plan.service.ts';
export type { CreatePlanInput, UpdatePlanInput } from './plan.service.ts';
export type { PlanPriceRow, PlanPriceTable, PlanRow, PlanTable, PriceTier } from './plan.table.ts';
