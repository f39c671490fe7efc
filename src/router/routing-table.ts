import { capabilities, type Capability, type InferenceConfigFile, type ModelConfig, type ProviderConfig, type RoutingConfig } from '../config.ts';
import type { LlmProvider } from '../providers/provider.ts';
import { createProvider, providerApiKey } from '../providers/registry.ts';
import { DeploymentState } from './deployment-state.ts';
import { CompiledRoute } from './route-rules.ts';

export interface ProviderSlot {
  config: ProviderConfig;
  provider: LlmProvider;
  /** Everything the adapter was built from; an unchanged fingerprint lets a reload keep its pool. */
  fingerprint: string;
}

/** A deployment as one model sees it: shared state plus this model's weight and rotation position. */
export interface DeploymentEntry {
  state: DeploymentState;
  provider: LlmProvider;
  weight: number;
  capabilities: ReadonlySet<Capability>;
  /** Smooth weighted round-robin's running weight, per model. */
  currentWeight: number;
}

export interface RoutedModel {
  config: ModelConfig;
  entries: DeploymentEntry[];
}

/**
 * One immutable generation of the inference config, resolved to adapters and deployment states.
 * Requests hold the table they started with, so a reload never changes a request mid-flight; a
 * retired table closes the adapters the new one dropped once its last request has finished.
 */
export class RoutingTable {
  readonly routing: RoutingConfig;
  readonly models: ReadonlyMap<string, RoutedModel>;
  /** Names that resolve to a model per request, by rules. */
  readonly routes: ReadonlyMap<string, CompiledRoute>;
  readonly providers: ReadonlyMap<string, ProviderSlot>;
  readonly states: ReadonlyMap<string, DeploymentState>;
  /** Configured model names per deployment name, for health reports. */
  readonly servedModels: ReadonlyMap<string, string[]>;
  #active = 0;
  #onIdle: (() => void) | undefined;

  constructor(
    routing: RoutingConfig,
    models: Map<string, RoutedModel>,
    providers: Map<string, ProviderSlot>,
    states: Map<string, DeploymentState>,
    routes: Map<string, CompiledRoute>,
  ) {
    this.routing = routing;
    this.models = models;
    this.routes = routes;
    this.providers = providers;
    this.states = states;
    const served = new Map<string, string[]>();
    for (const model of models.values()) {
      for (const entry of model.entries) {
        const names = served.get(entry.state.ref.name) ?? [];
        if (!names.includes(model.config.name)) names.push(model.config.name);
        served.set(entry.state.ref.name, names);
      }
    }
    this.servedModels = served;
  }

  enter(): void {
    this.#active++;
  }

  leave(): void {
    this.#active--;
    if (this.#active === 0 && this.#onIdle) this.#runIdle();
  }

  /** Runs `onIdle` once no request started on this table is still running. */
  retire(onIdle: () => void): void {
    this.#onIdle = onIdle;
    if (this.#active === 0) this.#runIdle();
  }

  #runIdle(): void {
    const onIdle = this.#onIdle;
    this.#onIdle = undefined;
    onIdle?.();
  }
}

export interface BuildOptions {
  env: NodeJS.ProcessEnv;
  /** Monotonic clock for breakers (tests move it). */
  now?: () => number;
}

/**
 * Builds a table from a validated config, reusing the previous table's adapters (and so their
 * connection pools and deployment states) for providers whose settings did not change.
 */
export function buildRoutingTable(
  file: InferenceConfigFile,
  previous: RoutingTable | undefined,
  options: BuildOptions,
): { table: RoutingTable; obsolete: LlmProvider[] } {
  const connectTimeoutMs = file.routing.timeoutsMs.connect;
  const providers = new Map<string, ProviderSlot>();
  const kept = new Set<string>();
  for (const config of file.providers) {
    const apiKey = providerApiKey(config, options.env);
    const fingerprint = JSON.stringify([config.type, config.baseUrl, apiKey ?? null, connectTimeoutMs, config.responses ?? false]);
    const old = previous?.providers.get(config.name);
    if (old && old.fingerprint === fingerprint) {
      providers.set(config.name, { ...old, config });
      kept.add(config.name);
    } else {
      providers.set(config.name, { config, provider: createProvider(config, { apiKey, connectTimeoutMs }), fingerprint });
    }
  }

  const states = new Map<string, DeploymentState>();
  const models = new Map<string, RoutedModel>();
  for (const config of file.models) {
    const entries: DeploymentEntry[] = [];
    for (const deployment of config.deployments) {
      const slot = providers.get(deployment.provider);
      // The config schema guarantees the provider exists; this only narrows the type.
      if (!slot) continue;
      const name = `${deployment.provider}/${deployment.model}`;
      let state = states.get(name);
      if (!state) {
        const old = kept.has(deployment.provider) ? previous?.states.get(name) : undefined;
        state = old ?? new DeploymentState({ name, provider: deployment.provider, model: deployment.model }, file.routing.circuitBreaker, options.now);
        state.breaker.configure(file.routing.circuitBreaker);
        states.set(name, state);
      }
      // Without a list a deployment is taken to do everything, as it was before capabilities existed.
      const can = new Set(deployment.capabilities ?? config.capabilities ?? capabilities);
      entries.push({ state, provider: slot.provider, weight: deployment.weight, capabilities: can, currentWeight: 0 });
    }
    models.set(config.name, { config, entries });
  }

  const obsolete = previous
    ? [...previous.providers.values()].filter((slot) => !kept.has(slot.config.name)).map((slot) => slot.provider)
    : [];
  const routes = new Map(file.routes.map((route) => [route.name, new CompiledRoute(route, models)]));
  return { table: new RoutingTable(file.routing, models, providers, states, routes), obsolete };
}
