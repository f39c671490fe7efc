import type { ModelConfig } from '../../config.ts';
import type { ModelPriceRow } from './model-price.table.ts';
import { decimalToMicros, tokensCostMicros } from './money.ts';

export interface ModelPrice {
  inputPerMillionMicros: bigint;
  outputPerMillionMicros: bigint;
  currency: string;
}

interface PriceVersion extends ModelPrice {
  effectiveFromMs: number;
  row: ModelPriceRow;
}

/**
 * Model prices: the versions set over the API, each in force from its effective time, and before a
 * model's first version (or without any) the YAML price book's. A model without either costs nothing.
 */
export class PriceBook {
  #prices = new Map<string, ModelPrice>();
  #versions = new Map<string, PriceVersion[]>();
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

  /** Takes every stored version (oldest first per model), replacing what it had. */
  setVersions(rows: readonly ModelPriceRow[]): void {
    const versions = new Map<string, PriceVersion[]>();
    for (const row of rows) {
      const list = versions.get(row.model) ?? [];
      list.push({
        effectiveFromMs: row.effective_from.getTime(),
        inputPerMillionMicros: decimalToMicros(row.input_per_million),
        outputPerMillionMicros: decimalToMicros(row.output_per_million),
        currency: row.currency,
        row,
      });
      versions.set(row.model, list);
    }
    this.#versions = versions;
  }

  /** Cost of one request's tokens at the price in force at `at`, in integer micro-units of the model's currency. */
  cost(model: string, promptTokens: number, completionTokens: number, at = Date.now()): { micros: number; currency: string } {
    const price = this.price(model, at);
    if (!price) return { micros: 0, currency: this.#defaultCurrency };
    const micros = tokensCostMicros(promptTokens, price.inputPerMillionMicros) + tokensCostMicros(completionTokens, price.outputPerMillionMicros);
    return { micros: Number(micros), currency: price.currency };
  }

  price(model: string, at = Date.now()): ModelPrice | undefined {
    return this.#versionAt(model, at) ?? this.#prices.get(model);
  }

  /** The stored version in force at `at`, if any (else the YAML price applies). */
  storedVersion(model: string, at = Date.now()): ModelPriceRow | undefined {
    return this.#versionAt(model, at)?.row;
  }

  #versionAt(model: string, at: number): PriceVersion | undefined {
    let found: PriceVersion | undefined;
    for (const version of this.#versions.get(model) ?? []) {
      if (version.effectiveFromMs > at) break;
      found = version;
    }
    return found;
  }
}
