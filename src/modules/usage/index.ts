// The usage module's door: what other modules and the app may use. Everything else in the folder is private.
export { ClickhouseUsageStore } from './clickhouse-usage-store.ts';
export { openUsageStore } from './open-usage-store.ts';
export { PostgresUsageStore } from './postgres-usage-store.ts';
export { UsageDeadLetters } from './usage-dead-letters.ts';
export type { DeadLetter } from './usage-dead-letters.ts';
export { newUsageEvent, usageStatuses } from './usage-event.ts';
export type { UsageEvent, UsageKind, UsageStatus } from './usage-event.ts';
export { UsageMeter } from './usage-meter.ts';
export type { UsageMeterStats } from './usage-meter.ts';
export { formatMicros } from './usage-report.ts';
export { scheduleUsageRetention } from './usage-retention.ts';
export type { CostAmount, DateRange, Moments, UsageBucket, UsageFilter, UsageGroupBy, UsageStore, UsageTotals, VariantStats } from './usage-store.ts';
export { createUsageReportLoader } from './usage.loaders.ts';
export type { UsageReportLoader } from './usage.loaders.ts';
export { UsageService, requireUsageRead, validateRange } from './usage.service.ts';
