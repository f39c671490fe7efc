import type { RoutingConfig } from '../config.ts';
import type { DeploymentEntry } from './routing-table.ts';

export type Strategy = RoutingConfig['strategy'];

// Share of latency-routed requests sent somewhere other than the current fastest, so a deployment
// that was slow once gets measured again instead of being starved on a stale average.
const latencyExploration = 0.05;

/**
 * Orders one group of deployments by the configured strategy, best first. `choose` is true for the
 * group the request will actually start on: only then does round-robin advance its rotation.
 */
export function orderByStrategy(
  strategy: Strategy,
  group: DeploymentEntry[],
  choose: boolean,
  random: () => number,
): DeploymentEntry[] {
  if (group.length <= 1) return group;
  switch (strategy) {
    case 'round-robin':
      return choose ? smoothWeightedPick(group) : byWeight(group);
    case 'least-inflight':
      return sortBy(group, (entry) => entry.state.inflight / entry.weight, random);
    case 'latency': {
      // Unmeasured deployments sort first so each gets its first sample.
      const ordered = sortBy(group, (entry) => entry.state.latencyMs ?? -1, random);
      if (choose && random() < latencyExploration) {
        const index = 1 + Math.floor(random() * (ordered.length - 1));
        const [explored] = ordered.splice(index, 1);
        if (explored) ordered.unshift(explored);
      }
      return ordered;
    }
  }
}

/** nginx's smooth weighted round-robin: exact shares per cycle, with heavy deployments spread out. */
function smoothWeightedPick(group: DeploymentEntry[]): DeploymentEntry[] {
  let total = 0;
  let best = group[0] as DeploymentEntry;
  for (const entry of group) {
    entry.currentWeight += entry.weight;
    total += entry.weight;
    if (entry.currentWeight > best.currentWeight) best = entry;
  }
  best.currentWeight -= total;
  return [best, ...byWeight(group.filter((entry) => entry !== best))];
}

function byWeight(group: DeploymentEntry[]): DeploymentEntry[] {
  return [...group].sort((a, b) => b.weight - a.weight);
}

/**
 * Sorts by score, breaking ties by a weighted random key (Efraimidis–Spirakis), so equal scores
 * are shared in proportion to the weights instead of always going to the first listed.
 */
function sortBy(group: DeploymentEntry[], score: (entry: DeploymentEntry) => number, random: () => number): DeploymentEntry[] {
  return group
    .map((entry) => ({ entry, score: score(entry), tie: random() ** (1 / entry.weight) }))
    .sort((a, b) => a.score - b.score || b.tie - a.tie)
    .map((keyed) => keyed.entry);
}
