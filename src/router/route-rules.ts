import type { RouteConfig, RouteRuleConfig } from '../config.ts';
import { decimalToMicros } from '../modules/pricing/index.ts';
import { badInput } from '../shared/errors.ts';
import type { Need } from './capabilities-needed.ts';
import type { RoutedModel } from './routing-table.ts';

/** What the rules of a route look at in a request. */
export interface RequestFacts {
  needs: readonly Need[];
  /** Estimated from the prompt's size. */
  promptTokens: number;
  /** The request's max_tokens, or the reply budget assumed when it sets none. */
  maxTokens: number;
  /** The tenant's plan id. */
  planId: string | undefined;
}

/** Which route a request went through, the rule that decided, and the model it chose. */
export interface RouteDecision {
  route: string;
  rule: string;
  model: string;
}

/** A model as routes weigh it: prices parsed once per config, not per request. */
interface Candidate {
  name: string;
  model: RoutedModel;
  inputMicrosPerMillion: number;
  outputMicrosPerMillion: number;
}

interface CompiledRule {
  config: RouteRuleConfig;
  candidates: Candidate[];
  maxCostMicros: number | undefined;
}

/** A route resolved against one generation of the routing table. */
export class CompiledRoute {
  readonly name: string;
  readonly #rules: CompiledRule[];
  readonly #fallback: Candidate;

  constructor(config: RouteConfig, models: ReadonlyMap<string, RoutedModel>) {
    const candidate = (name: string): Candidate => {
      const model = models.get(name);
      // The config schema guarantees every name is a configured model.
      if (!model) throw new Error(`route "${config.name}" names unknown model "${name}"`);
      const price = model.config.price;
      return {
        name,
        model,
        inputMicrosPerMillion: price ? Number(decimalToMicros(price.inputPerMillion)) : 0,
        outputMicrosPerMillion: price ? Number(decimalToMicros(price.outputPerMillion)) : 0,
      };
    };
    this.name = config.name;
    this.#rules = config.rules.map((rule) => ({
      config: rule,
      candidates: rule.models.map(candidate),
      maxCostMicros: rule.maxCost === undefined ? undefined : Number(decimalToMicros(rule.maxCost)),
    }));
    this.#fallback = candidate(config.default);
  }

  /** The first rule that applies and has a model able to serve the request, else the default; a 400 naming the unmet need when even that cannot. */
  decide(facts: RequestFacts): RouteDecision {
    for (const rule of this.#rules) {
      if (!applies(rule.config, facts)) continue;
      const chosen = choose(rule, facts);
      if (chosen) return { route: this.name, rule: rule.config.name, model: chosen.name };
    }
    if (canServe(this.#fallback, facts)) return { route: this.name, rule: 'default', model: this.#fallback.name };
    throw this.#unmet(facts);
  }

  /** Names what no model this request could reach provides: a capability, or room for the prompt. */
  #unmet(facts: RequestFacts): Error {
    const reachable = [this.#fallback, ...this.#rules.filter((rule) => applies(rule.config, facts)).flatMap((rule) => rule.candidates)];
    for (const need of facts.needs) {
      if (!reachable.some((candidate) => serves(candidate, [need]))) {
        return badInput(`route "${this.name}" has no model that can serve ${need.field} (the "${need.capability}" capability)`, { param: need.field });
      }
    }
    const able = reachable.filter((candidate) => serves(candidate, facts.needs));
    if (able.length === 0) {
      return badInput(`route "${this.name}" has no model with all of ${facts.needs.map((n) => `"${n.capability}"`).join(', ')}`, { param: facts.needs[0]?.field ?? 'model' });
    }
    const largest = Math.max(...able.map((candidate) => candidate.model.config.contextWindow ?? 0));
    return badInput(
      `route "${this.name}" has no model whose context window holds this request: about ${facts.promptTokens} prompt tokens plus max_tokens ${facts.maxTokens}, largest window ${largest}`,
      { param: 'messages' },
    );
  }
}

function applies(rule: RouteRuleConfig, facts: RequestFacts): boolean {
  const { needs, plans } = rule.when;
  if (needs && !needs.every((capability) => facts.needs.some((need) => need.capability === capability))) return false;
  if (plans && (facts.planId === undefined || !plans.includes(facts.planId))) return false;
  return true;
}

function choose(rule: CompiledRule, facts: RequestFacts): Candidate | undefined {
  let best: Candidate | undefined;
  let bestCost = Infinity;
  for (const candidate of rule.candidates) {
    if (!canServe(candidate, facts)) continue;
    if (rule.maxCostMicros === undefined && rule.config.choose === 'first') return candidate;
    const cost = estimatedCostMicros(candidate, facts);
    if (rule.maxCostMicros !== undefined && cost > rule.maxCostMicros) continue;
    if (rule.config.choose === 'first') return candidate;
    if (cost < bestCost) {
      best = candidate;
      bestCost = cost;
    }
  }
  return best;
}

function canServe(candidate: Candidate, facts: RequestFacts): boolean {
  const window = candidate.model.config.contextWindow;
  if (window !== undefined && facts.promptTokens + facts.maxTokens > window) return false;
  return serves(candidate, facts.needs);
}

/** At least one deployment has every capability needed (the router then sends the request only there). */
function serves(candidate: Candidate, needs: readonly Need[]): boolean {
  if (needs.length === 0) return true;
  return candidate.model.entries.some((entry) => needs.every((need) => entry.capabilities.has(need.capability)));
}

/** Micro-units for the prompt and the whole reply budget at the model's price; an unpriced model costs nothing. */
function estimatedCostMicros(candidate: Candidate, facts: RequestFacts): number {
  return (facts.promptTokens * candidate.inputMicrosPerMillion + facts.maxTokens * candidate.outputMicrosPerMillion) / 1_000_000;
}
