import DataLoader from 'dataloader';
import type { SqlDatabase } from './storage/sql-database.ts';
import { findPlanPrices, findPlansByIds } from './modules/plan/index.ts';
import type { PlanPriceRow, PlanRow } from './modules/plan/index.ts';
import type { UsageStore } from './modules/usage/index.ts';
import { createUsageReportLoader, type UsageReportLoader } from './modules/usage/index.ts';

/** Per-request DataLoaders: a list of N tenants asks the store once per kind of object, not N times. */
export interface Loaders {
  plan: DataLoader<string, PlanRow | undefined>;
  /** Each plan's price versions, oldest first. */
  planPrices: DataLoader<string, PlanPriceRow[]>;
  /** Usage reports of many tenants for the same range and grouping, from one store statement. */
  usageReport: UsageReportLoader;
}

function byKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | undefined)[] {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key));
}

export function createLoaders(db: SqlDatabase, usage: UsageStore): Loaders {
  return {
    plan: new DataLoader(async (ids) => byKey(ids, await findPlansByIds(db, ids), (row) => row.id)),
    planPrices: new DataLoader(async (ids) => {
      const rows = await findPlanPrices(db, ids);
      return ids.map((id) => rows.filter((row) => row.plan_id === id));
    }),
    usageReport: createUsageReportLoader(usage),
  };
}
