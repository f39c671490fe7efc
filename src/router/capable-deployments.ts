import { badInput } from '../shared/errors.ts';
import type { Need } from './capabilities-needed.ts';
import type { DeploymentEntry, RoutedModel } from './routing-table.ts';

const able = (entry: DeploymentEntry, needs: readonly Need[]) => needs.every((need) => entry.capabilities.has(need.capability));

/** A need no deployment of the model meets is the caller's mistake (400), named by its field. */
export function refuseUnmet(model: RoutedModel, requested: string, needs: readonly Need[]): void {
  for (const need of needs) {
    if (!model.entries.some((entry) => entry.capabilities.has(need.capability))) {
      throw badInput(`model "${requested}" cannot serve ${need.field}: none of its deployments has the "${need.capability}" capability`, { param: need.field });
    }
  }
  if (!model.entries.some((entry) => able(entry, needs))) {
    throw badInput(`model "${requested}" has no deployment with all of ${needs.map((n) => `"${n.capability}"`).join(', ')}`, { param: needs[0]!.field });
  }
}

/** The candidates that can do all the request needs; one that only deployments out of rotation meet leaves none available. */
export function capable(candidates: DeploymentEntry[], model: RoutedModel, requested: string, needs: readonly Need[]): DeploymentEntry[] {
  refuseUnmet(model, requested, needs);
  return candidates.filter((entry) => able(entry, needs));
}
