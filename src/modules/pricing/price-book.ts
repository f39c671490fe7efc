import type { ModelConfig } from '../../config.ts';
import { decimalToMicros, tokensCostMicros } from './money.ts';

export interface ModelPrice {
  inputPerMillionMicros: bigint;
  outputPerMillionMicros: bigint;
  currency: string;
}

/** Model prices from the YAML price book, parsed once. A model without a price costs nothing. */
export class PriceBook {
  #prices = new Map<string, ModelPrice>();
  readonly #defaultCurrency: string;

  constructor(models: readonly ModelConfig[], defaultCurrency = 'USD') {
    this.#defaultCurrency = defaultCurrency;
    this.reload(models);
  }

  /** Takes the prices of a reloaded config; requests already priced keep what they were charged. */
  reload(models: readonly ModelConfig[]): void {
    const prices = new Map<string, ModelPrice>();
    for (const model of models) {
      if (!model.price) continue;
      prices.set(model.name, {
        inputPerMillionMicros: decimalToMicros(model.price.inputPerMillion),
        outputPerMillionMicros: decimalToMicros(model.price.outputPerMillion),
        currency: model.price.currency,
      });
    }
    this.#prices = prices;
  }

  /** Cost of one request's tokens, in integer micro-units of the model's currency. */
  cost(model: string, promptTokens: number, completionTokens: number): { micros: number; currency: string } {
    const price = this.#prices.get(model);
    if (!price) return { micros: 0, currency: this.#defaultCurrency };
    const micros = tokensCostMicros(promptTokens, price.inputPerMillionMicros) + tokensCostMicros(completionTokens, price.outputPerMillionMicros);
    return { micros: Number(micros), currency: price.currency };
  }

  price(model: string): ModelPrice | undefined {
    return this.#prices.get(model);
  }
}
