import DataLoader from 'dataloader';
import type { ReportQuery, UsageReport, UsageStore } from './usage-store.ts';

/** One tenant's report for one (range, grouping, filter): what a GraphQL field asks the loader for. */
export interface UsageReportKey {
  tenantId: string;
  query: Omit<ReportQuery, 'tenantIds'>;
}

export type UsageReportLoader = DataLoader<UsageReportKey, UsageReport, string>;

const queryKey = (query: UsageReportKey['query']) => JSON.stringify([query.range.from, query.range.to, query.groupBy, query.filter, query.latency]);

/**
 * Batches the reports a GraphQL operation asks for: every tenant wanting the same report is answered by
 * one store statement, so a page of 100 tenants' monthly totals costs one query, not 100.
 */
export function createUsageReportLoader(store: UsageStore): UsageReportLoader {
  return new DataLoader<UsageReportKey, UsageReport, string>(
    async (keys) => {
      const groups = new Map<string, { query: UsageReportKey['query']; tenantIds: Set<string> }>();
      for (const key of keys) {
        const id = queryKey(key.query);
        const group = groups.get(id) ?? { query: key.query, tenantIds: new Set<string>() };
        group.tenantIds.add(key.tenantId);
        groups.set(id, group);
      }
      const answers = new Map<string, Map<string, UsageReport>>();
      await Promise.all(
        [...groups].map(async ([id, group]) => {
          answers.set(id, await store.report({ ...group.query, tenantIds: [...group.tenantIds] }));
        }),
      );
      return keys.map((key) => answers.get(queryKey(key.query))?.get(key.tenantId) ?? new Error(`no usage report for ${key.tenantId}`));
    },
    { cacheKeyFn: (key) => `${key.tenantId}|${queryKey(key.query)}` },
  );
}
