import type { ModelConfig } from '../../config.ts';
import type { Broadcast } from '../../shared/broadcast.ts';
import { badInput } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/index.ts';
import { requirePlatformAdmin } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import { listModelPrices, upsertModelPrice } from './model-price.repository.ts';
import type { ModelPriceRow } from './model-price.table.ts';
import type { PriceBook } from './price-book.ts';

export interface SetModelPriceInput {
  model: string;
  inputPerMillion: string;
  outputPerMillion: string;
  currency: string;
  /** When it takes effect: now (default) or later, never earlier. */
  effectiveFrom?: Date | null;
}

export interface ModelPriceServiceOptions {
  db: SqlDatabase;
  prices: PriceBook;
  /** The models of the running config (it may be reloaded). */
  models: () => readonly ModelConfig[];
  broadcast: Broadcast;
  logger: Logger;
  now?: () => number;
}

const changedTopic = 'model-price:changed';
const decimal = /^\d{1,8}(\.\d{1,6})?$/;

/**
 * Model price versions: stored in the SQL database, held by every instance's price book, which each
 * instance reloads when one of them sets a version. A version set ahead of its effective time is thus
 * applied by every instance at the same instant; one set for "now" within a broadcast's delay.
 */
export class ModelPriceService {
  readonly #options: ModelPriceServiceOptions;
  readonly #now: () => number;
  #unsubscribe: () => void = () => {};

  private constructor(options: ModelPriceServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  static async start(options: ModelPriceServiceOptions): Promise<ModelPriceService> {
    const service = new ModelPriceService(options);
    service.#unsubscribe = options.broadcast.subscribe(changedTopic, () => {
      service.#reload().catch((error: unknown) => options.logger.warn({ err: error }, 'could not reload model prices; the ones held stay'));
    });
    await service.#reload();
    return service;
  }

  async set(actor: { principal: Principal; requestId: string }, input: SetModelPriceInput): Promise<ModelPriceRow[]> {
    requirePlatformAdmin(actor.principal);
    if (!this.#options.models().some((m) => m.name === input.model)) throw badInput(`unknown model "${input.model}"`, { field: 'model' });
    for (const field of ['inputPerMillion', 'outputPerMillion'] as const) {
      if (!decimal.test(input[field])) throw badInput(`${field} must be a decimal string with at most 6 decimals, e.g. "3.00"`, { field });
    }
    if (!/^[A-Z]{3}$/.test(input.currency)) throw badInput('currency must be an ISO 4217 code such as USD', { field: 'currency' });
    const now = this.#now();
    const effectiveFrom = input.effectiveFrom ?? new Date(now);
    if (effectiveFrom.getTime() < now) throw badInput('effectiveFrom must be now or later: a price already in force is never rewritten', { field: 'effectiveFrom' });
    await this.#options.db.transaction().execute(async (trx) => {
      await upsertModelPrice(trx, {
        model: input.model,
        effective_from: effectiveFrom,
        currency: input.currency,
        input_per_million: input.inputPerMillion,
        output_per_million: input.outputPerMillion,
      });
      await recordAudit(trx, actor, { tenantId: null, action: 'model.price', target: input.model, details: { ...input, effectiveFrom: effectiveFrom.toISOString() } });
    });
    await this.#reload();
    await this.#options.broadcast.publish(changedTopic, input.model).catch((error: unknown) => this.#options.logger.warn({ err: error }, 'could not announce a model price change'));
    return this.versions(input.model);
  }

  /** A model's versions, oldest first. */
  async versions(model: string): Promise<ModelPriceRow[]> {
    return (await listModelPrices(this.#options.db)).filter((row) => row.model === model);
  }

  close(): void {
    this.#unsubscribe();
  }

  async #reload(): Promise<void> {
    this.#options.prices.setVersions(await listModelPrices(this.#options.db));
  }
}
