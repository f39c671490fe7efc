import type { ModelConfig } from '../config.ts';
import { badInput, notFound } from '../shared/errors.ts';
import type { ModelChoice } from './route-options.ts';
import type { RequestFacts } from './route-rules.ts';
import type { RoutedModel, RoutingTable } from './routing-table.ts';
import { resolveModelName, type TenantRoutingPrefs } from './tenant-routing.ts';

export type ModelKind = ModelConfig['kind'];

/** The configured model `name`, refused as NOT_FOUND (under the requested name) or as the wrong kind. */
export function configuredModel(table: RoutingTable, name: string, requested: string, kind: ModelKind): RoutedModel {
  const model = table.models.get(name);
  if (!model) throw notFound('model', requested);
  if (model.config.kind !== kind) {
    throw badInput(
      kind === 'embedding'
        ? `model "${requested}" is a chat model; it does not produce embeddings`
        : `model "${requested}" is an embedding model; it does not chat or complete`,
      { model: requested },
    );
  }
  return model;
}

/** The configured model a requested name means for the tenant, after its overrides and allowed names. */
export function tenantModel(table: RoutingTable, requested: string, kind: ModelKind, tenant: TenantRoutingPrefs | undefined): RoutedModel {
  return configuredModel(table, resolveModelName(requested, tenant), requested, kind);
}

/** The model a resolved name goes to: itself when it is a configured model, or its route's decision. */
export function targetModel(table: RoutingTable, resolved: string, requested: string, kind: ModelKind, facts: () => RequestFacts): ModelChoice {
  const route = table.routes.get(resolved);
  if (!route) {
    configuredModel(table, resolved, requested, kind);
    return { model: resolved };
  }
  if (kind !== 'chat') throw badInput(`"${requested}" is a route among chat models; it does not produce embeddings`, { model: requested });
  const decision = route.decide(facts());
  return { model: decision.model, route: decision };
}
