import type { RoutedModel, DeploymentEntry } from './routing-table.ts';
import { orderByStrategy, type Strategy } from './strategies.ts';
import type { TenantRoutingPrefs } from './tenant-routing.ts';

/**
 * The deployments a request may use, in the order it will try them. Deployments whose breaker
 * refuses calls are left out. The rest are ranked by, in this order of importance: on the tenant's
 * preferred provider; last health probe not failed; not inside a Retry-After window. The strategy
 * orders each rank. Without auto-failover only the first stays.
 */
export function orderCandidates(
  model: RoutedModel,
  strategy: Strategy,
  tenant: TenantRoutingPrefs | undefined,
  now: number,
  random: () => number,
): DeploymentEntry[] {
  const available = model.entries.filter((entry) => entry.state.breaker.available);
  if (available.length <= 1) return available;

  const preferred = tenant?.preferredProvider;
  const tierOf = (entry: DeploymentEntry) =>
    (preferred !== undefined && entry.state.ref.provider !== preferred ? 4 : 0) +
    (entry.state.healthy === false ? 2 : 0) +
    (entry.state.coolingDown(now) ? 1 : 0);

  const tierOfEach = available.map(tierOf);
  let ordered: DeploymentEntry[];
  if (tierOfEach.every((tier) => tier === tierOfEach[0])) {
    ordered = orderByStrategy(strategy, available, true, random);
  } else {
    ordered = [];
    for (const tier of [...new Set(tierOfEach)].sort((a, b) => a - b)) {
      const group = available.filter((_entry, i) => tierOfEach[i] === tier);
      ordered.push(...orderByStrategy(strategy, group, ordered.length === 0, random));
    }
  }
  return tenant && !tenant.autoFailover ? ordered.slice(0, 1) : ordered;
}
