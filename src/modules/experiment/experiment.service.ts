import type { Broadcast } from '../../shared/broadcast.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import { randomId } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/index.ts';
import { isPlatformAdmin, requireAuthenticated, requirePlatformAdmin, requireTenantAdmin, requireTenantRead } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import { findTenantById } from '../tenant/index.ts';
import { validateRange } from '../usage/index.ts';
import type { DateRange, UsageStore } from '../usage/index.ts';
import { experimentVerdict, type ExperimentResults } from './experiment-verdict.ts';
import type { Actor } from '../tenant/index.ts';
import { findExperiment, insertExperiment, listActiveExperiments, listExperiments, updateExperimentStatus } from './experiment.repository.ts';
import type { ExperimentRow, ExperimentStatus, Stickiness, Variant } from './experiment.table.ts';
import { pickVariant, stableUnit } from './variant-assignment.ts';

export interface Experiment {
  id: string;
  /** Null: platform-wide. */
  tenantId: string | null;
  model: string;
  /** The first is the baseline: while the experiment is paused every request goes to it. */
  variants: Variant[];
  stickiness: Stickiness;
  status: ExperimentStatus;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateExperimentInput {
  model: string;
  tenantId: string | null;
  variants: readonly Variant[];
  stickiness: Stickiness;
}

/** Where one request goes: a variant of a running experiment, or a paused experiment's baseline (no variant). */
export interface Assignment {
  model: string;
  experimentId?: string;
  variant?: string;
}

export interface ExperimentServiceOptions {
  db: SqlDatabase;
  broadcast: Broadcast;
  logger: Logger;
  /** True for a name requests may be sent to: a configured chat model or a route. */
  isModel: (name: string) => boolean;
  /** Where the experiment's events and feedback are aggregated. */
  store: UsageStore;
  /** Per-request assignment; tests pass a seeded one. */
  random?: () => number;
  /** How often the experiments in force are read again, in case a broadcast was missed (Redis away). */
  refreshMs?: number;
}

interface InForce {
  experiment: Experiment;
  totalWeight: number;
}

/** Carries one experiment's new state to every instance. */
const changedTopic = 'experiment-changed';
const maxVariants = 10;
const maxWeight = 1_000_000;
const maxNameLength = 200;
const variantName = /^[A-Za-z0-9_.-]{1,64}$/;

const scopeKey = (tenantId: string | null, model: string) => `${tenantId ?? ''}\u0000${model}`;

/**
 * A/B experiments on a requested name. Requests are split by the experiments in force (not stopped),
 * held in memory on every instance; a change is applied here and broadcast to the others at once.
 */
export class ExperimentService {
  readonly #db: SqlDatabase;
  readonly #broadcast: Broadcast;
  readonly #logger: Logger;
  readonly #isModel: (name: string) => boolean;
  readonly #random: () => number;
  readonly #store: UsageStore;
  #inForce = new Map<string, InForce>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  private constructor(options: ExperimentServiceOptions) {
    this.#db = options.db;
    this.#broadcast = options.broadcast;
    this.#logger = options.logger;
    this.#isModel = options.isModel;
    this.#random = options.random ?? Math.random;
    this.#store = options.store;
  }

  static async start(options: ExperimentServiceOptions): Promise<ExperimentService> {
    const service = new ExperimentService(options);
    service.#unsubscribe = options.broadcast.subscribe(changedTopic, (message) => service.#apply(JSON.parse(message) as Experiment));
    await service.refresh();
    service.#refreshTimer = setInterval(() => {
      service.refresh().catch((error: unknown) => service.#logger.warn({ err: error }, 'could not re-read the experiments in force'));
    }, options.refreshMs ?? 30_000);
    service.#refreshTimer.unref();
    return service;
  }

  /** Re-reads the experiments in force from the database. */
  async refresh(): Promise<void> {
    const rows = await listActiveExperiments(this.#db);
    this.#inForce = new Map(rows.map((row) => toExperiment(row)).map((experiment) => [scopeKey(experiment.tenantId, experiment.model), inForce(experiment)]));
  }

  close(): void {
    clearInterval(this.#refreshTimer);
    this.#unsubscribe?.();
  }

  /**
   * The model for a request of `tenantId` for `model`: the tenant's own experiment on the name, else
   * a platform-wide one. Sticky experiments hash the user (each user keeps a variant); requests without
   * a user, and per-request experiments, are assigned at random.
   */
  assign(tenantId: string, model: string, userId: string | null): Assignment | undefined {
    const found = this.#inForce.get(scopeKey(tenantId, model)) ?? this.#inForce.get(scopeKey(null, model));
    if (!found) return undefined;
    const { experiment, totalWeight } = found;
    if (experiment.status === 'PAUSED') return { model: experiment.variants[0]!.model };
    const unit = experiment.stickiness === 'USER' && userId !== null ? stableUnit(`${experiment.id}:${userId}`) : this.#random();
    const variant = pickVariant(experiment.variants, totalWeight, unit);
    return { model: variant.model, experimentId: experiment.id, variant: variant.name };
  }

  async create(actor: Actor, input: CreateExperimentInput): Promise<Experiment> {
    if (input.tenantId === null) requirePlatformAdmin(actor.principal);
    else requireTenantAdmin(actor.principal, input.tenantId);
    const model = input.model.trim();
    if (model.length === 0 || model.length > maxNameLength) throw badInput(`model must be 1 to ${maxNameLength} characters`, { field: 'model' });
    const variants = this.#validVariants(input.variants);
    const row = await this.#db.transaction().execute(async (trx) => {
      if (input.tenantId !== null && !(await findTenantById(trx, input.tenantId))) throw notFound('tenant', input.tenantId);
      const created = await insertExperiment(trx, { id: `exp_${randomId(12)}`, tenant_id: input.tenantId, model, variants, stickiness: input.stickiness, status: 'RUNNING' }).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === '23505') {
          throw badInput(`an experiment on "${model}" is already running or paused ${input.tenantId === null ? 'platform-wide' : 'for this tenant'}: stop it first`, { field: 'model' });
        }
        throw error;
      });
      await recordAudit(trx, actor, { tenantId: input.tenantId, action: 'experiment.create', target: created.id, details: { model, variants, stickiness: input.stickiness } });
      return created;
    });
    const experiment = toExperiment(row);
    await this.#changed(experiment);
    return experiment;
  }

  /** RUNNING and PAUSED go back and forth; STOPPED is final and frees the name for a new experiment. */
  async setStatus(actor: Actor, id: string, status: ExperimentStatus): Promise<Experiment> {
    requireAuthenticated(actor.principal);
    const row = await this.#db.transaction().execute(async (trx) => {
      const current = await findExperiment(trx, id);
      if (!current || !this.#mayChange(actor.principal, current)) throw notFound('experiment', id);
      if (current.status === status) return current;
      if (current.status === 'STOPPED') throw badInput(`experiment "${id}" is stopped; create a new one instead`, { field: 'status' });
      const updated = await updateExperimentStatus(trx, id, status);
      await recordAudit(trx, actor, { tenantId: current.tenant_id, action: 'experiment.status', target: id, details: { from: current.status, to: status } });
      return updated!;
    });
    const experiment = toExperiment(row);
    await this.#changed(experiment);
    return experiment;
  }

  /** Another tenant's experiment, and a platform-wide one for anyone but the platform, is NOT_FOUND. */
  async get(principal: Principal, id: string): Promise<Experiment> {
    requireAuthenticated(principal);
    const row = await findExperiment(this.#db, id);
    if (!row || !this.#mayRead(principal, row)) throw notFound('experiment', id);
    return toExperiment(row);
  }

  /** Each variant's numbers over a range, the comparisons with the baseline, and a recommendation, from the usage store. */
  async results(experiment: Experiment, range: DateRange): Promise<ExperimentResults> {
    const stats = await this.#store.experimentStats({ experimentId: experiment.id, range: validateRange(range) });
    return experimentVerdict(experiment.variants, stats);
  }

  /** A tenant's experiments; without a tenant, the platform-wide ones (platform admin only). */
  async list(principal: Principal, tenantId: string | null): Promise<Experiment[]> {
    if (tenantId === null) requirePlatformAdmin(principal);
    else requireTenantRead(principal, tenantId);
    return (await listExperiments(this.#db, tenantId)).map(toExperiment);
  }

  #mayRead(principal: Principal, row: ExperimentRow): boolean {
    if (row.tenant_id === null) return isPlatformAdmin(principal);
    try {
      requireTenantRead(principal, row.tenant_id);
      return true;
    } catch {
      return false;
    }
  }

  #mayChange(principal: Principal, row: ExperimentRow): boolean {
    if (!this.#mayRead(principal, row)) return false;
    if (row.tenant_id !== null) requireTenantAdmin(principal, row.tenant_id);
    return true;
  }

  #validVariants(variants: readonly Variant[]): Variant[] {
    if (variants.length < 2 || variants.length > maxVariants) throw badInput(`an experiment has 2 to ${maxVariants} variants`, { field: 'variants' });
    const names = new Set<string>();
    return variants.map((variant, i) => {
      const field = `variants[${i}]`;
      if (!variantName.test(variant.name)) throw badInput(`${field}.name must be 1 to 64 letters, digits, "_", "." or "-"`, { field: `${field}.name` });
      if (names.has(variant.name)) throw badInput(`variant name "${variant.name}" is used twice`, { field: `${field}.name` });
      names.add(variant.name);
      if (!Number.isInteger(variant.weight) || variant.weight < 1 || variant.weight > maxWeight) {
        throw badInput(`${field}.weight must be a whole number from 1 to ${maxWeight}`, { field: `${field}.weight` });
      }
      if (!this.#isModel(variant.model)) throw badInput(`${field}.model "${variant.model}" is not a configured chat model or route`, { field: `${field}.model` });
      return { name: variant.name, model: variant.model, weight: variant.weight };
    });
  }

  /** The broadcast applies it here before publish resolves, and on the other instances as it reaches them. */
  async #changed(experiment: Experiment): Promise<void> {
    await this.#broadcast.publish(changedTopic, JSON.stringify(experiment)).catch((error: unknown) => {
      this.#logger.warn({ err: error, experimentId: experiment.id }, 'could not announce an experiment change; other instances see it within their refresh');
    });
  }

  #apply(experiment: Experiment): void {
    const key = scopeKey(experiment.tenantId, experiment.model);
    const next = new Map(this.#inForce);
    if (experiment.status === 'STOPPED') {
      if (next.get(key)?.experiment.id === experiment.id) next.delete(key);
    } else {
      next.set(key, inForce(experiment));
    }
    this.#inForce = next;
  }
}

function inForce(experiment: Experiment): InForce {
  return { experiment, totalWeight: experiment.variants.reduce((sum, variant) => sum + variant.weight, 0) };
}

function toExperiment(row: ExperimentRow): Experiment {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    model: row.model,
    variants: row.variants,
    stickiness: row.stickiness,
    status: row.status,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
