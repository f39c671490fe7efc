import type { ModelConfig } from '../config.ts';
import type { RoutedModel } from './routing-table.ts';

export interface ModelInfo {
  /** The name a client asks for. */
  name: string;
  /** The configured model that serves it (differs under a tenant's override). */
  servedBy: string;
  kind: ModelConfig['kind'];
  contextWindow: number | null;
  price: ModelConfig['price'] | null;
  /** At least one deployment's breaker lets calls through. */
  available: boolean;
}

export function modelInfo(name: string, model: RoutedModel): ModelInfo {
  return {
    name,
    servedBy: model.config.name,
    kind: model.config.kind,
    contextWindow: model.config.contextWindow ?? null,
    price: model.config.price ?? null,
    available: model.entries.some((entry) => entry.state.breaker.available),
  };
}
