// The limits module's door: what other modules and the app may use. Everything else in the folder is private.
export { graphqlRateLimitPlugin } from './graphql-rate-limit.ts';
export type { LimitOverrideTable } from './limit-override.table.ts';
export type { LimitState, LimiterStore, QuotaSpec, QuotaUse } from './limiter-store.ts';
export { LimitsDirectory } from './limits-directory.ts';
export type { EffectiveLimits } from './limits-directory.ts';
export { LimitRefusal, LimitsGate } from './limits-gate.ts';
export { LimitsMetrics } from './limits-metrics.ts';
export { LimitsService } from './limits.service.ts';
export type { MonthlyQuota } from './monthly-quota.ts';
export { openLimiterStore } from './open-limiter-store.ts';
export { tightestWindow } from './rate-window.ts';
