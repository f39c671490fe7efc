import { orderCandidates } from './candidates.ts';
import { capable } from './capable-deployments.ts';
import { configuredModel, tenantModel, type ModelKind } from './model-lookup.ts';
import type { RouteOptions } from './route-options.ts';
import { allUnavailable } from './routing-errors.ts';
import type { DeploymentEntry, RoutedModel, RoutingTable } from './routing-table.ts';

/** What one request runs on: the table it started with, its model, and the deployments to try in order. */
export interface RequestPlan {
  table: RoutingTable;
  model: RoutedModel;
  requested: string;
  candidates: DeploymentEntry[];
}

export function planRequest(table: RoutingTable, requested: string, kind: ModelKind, options: RouteOptions, random: () => number): RequestPlan {
  const model = options.choice ? configuredModel(table, options.choice.model, requested, kind) : tenantModel(table, requested, kind, options.tenant);
  let candidates = orderCandidates(model, table.routing.strategy, options.tenant, Date.now(), random);
  if (options.needs?.length) candidates = capable(candidates, model, requested, options.needs);
  if (candidates.length === 0) throw allUnavailable(requested, model);
  return { table, model, requested, candidates };
}
