import { sql } from 'kysely';
import type { AppDeps } from '../deps.ts';

export interface DependencyCheck {
  name: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
}

const timeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

async function check(name: string, probe: () => Promise<unknown>): Promise<DependencyCheck> {
  const started = performance.now();
  try {
    await timeout(probe(), 2_000);
    return { name, ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { name, ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

/**
 * The usage meter's backlog: events not yet in the store. A backlog does not fail readiness (the spool
 * is there to ride out a store outage) but shows here and in /metrics so it can be alerted on.
 */
export function usageBacklog(deps: AppDeps) {
  const stats = deps.usageMeter.stats();
  return {
    queued: stats.queued,
    spooled: stats.spooled,
    spoolSegments: stats.segments,
    storeFailures: stats.consecutiveFailures,
    // Since this process started; `tollgate usage dead-letters list` shows every one waiting.
    deadLettered: stats.deadLettered,
    lastStoredAt: stats.lastFlushAt?.toISOString() ?? null,
    lastError: stats.lastError,
  };
}

/** How many deployments the router may use now (breaker not open) out of all configured. */
export function deploymentSummary(deps: AppDeps) {
  const deployments = deps.router.health();
  return { total: deployments.length, available: deployments.filter((d) => d.breaker !== 'open').length };
}

/** Checks each configured dependency; the ones not configured are not listed. */
export async function checkDependencies(deps: AppDeps): Promise<DependencyCheck[]> {
  const checks: Promise<DependencyCheck>[] = [
    check(deps.db.kind === 'postgres' ? 'postgres' : 'pglite', () => sql`select 1`.execute(deps.db.db)),
  ];
  const { redis, clickhouse } = deps;
  if (redis) checks.push(check('redis', () => redis.ping()));
  if (clickhouse) {
    checks.push(
      check('clickhouse', async () => {
        const result = await clickhouse.ping();
        if (!result.success) throw result.error;
      }),
    );
  }
  return Promise.all(checks);
}
