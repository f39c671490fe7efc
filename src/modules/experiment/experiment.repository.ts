import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { ExperimentRow, ExperimentStatus, Stickiness, Variant } from './experiment.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function insertExperiment(
  db: Db,
  row: { id: string; tenant_id: string | null; model: string; variants: Variant[]; stickiness: Stickiness; status: ExperimentStatus },
): Promise<ExperimentRow> {
  return db
    .insertInto('experiment')
    .values({ ...row, variants: JSON.stringify(row.variants) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findExperiment(db: Db, id: string): Promise<ExperimentRow | undefined> {
  return db.selectFrom('experiment').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A tenant's experiments, or the platform-wide ones (tenantId null), newest first. */
export function listExperiments(db: Db, tenantId: string | null): Promise<ExperimentRow[]> {
  const query = db.selectFrom('experiment').selectAll();
  return (tenantId === null ? query.where('tenant_id', 'is', null) : query.where('tenant_id', '=', tenantId)).orderBy('created_at', 'desc').orderBy('id').execute();
}

/** Every experiment not stopped: the ones requests are split by. */
export function listActiveExperiments(db: Db): Promise<ExperimentRow[]> {
  return db.selectFrom('experiment').selectAll().where('status', '<>', 'STOPPED').execute();
}

export function updateExperimentStatus(db: Db, id: string, status: ExperimentStatus): Promise<ExperimentRow | undefined> {
  return db.updateTable('experiment').set({ status, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
}
