import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../database.ts';
import type { NewPromptTemplate, PromptTemplateRow } from './prompt-template.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Inserts the template as the owner's next version of its name. Saves of one name queue on an
 * advisory lock for the transaction, so concurrent saves take consecutive numbers.
 */
export async function insertNextVersion(db: Kysely<Database>, template: Omit<NewPromptTemplate, 'version'>): Promise<PromptTemplateRow> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`tollgate.prompt_template:${template.tenant_id ?? ''}:${template.name}`}))`.execute(trx);
    return insertNumbered(trx, template);
  });
}

async function insertNumbered(db: Db, template: Omit<NewPromptTemplate, 'version'>): Promise<PromptTemplateRow> {
  const { rows } = await sql<PromptTemplateRow>`
    INSERT INTO prompt_template (id, tenant_id, name, version, system_message, user_message, model, parameters)
    SELECT ${template.id}, ${template.tenant_id ?? null}, ${template.name}, coalesce(max(version), 0) + 1,
      ${template.system_message ?? null}, ${template.user_message}, ${template.model}, ${template.parameters}::jsonb
    FROM prompt_template
    WHERE coalesce(tenant_id, '') = ${template.tenant_id ?? ''} AND name = ${template.name}
    RETURNING *
  `.execute(db);
  return rows[0]!;
}

/** The owner's template of that name: the version asked for, else the latest. */
export function findTemplate(db: Db, tenantId: string | null, name: string, version?: number): Promise<PromptTemplateRow | undefined> {
  let query = db.selectFrom('prompt_template').selectAll().where(sql<string>`coalesce(tenant_id, '')`, '=', tenantId ?? '').where('name', '=', name);
  if (version !== undefined) query = query.where('version', '=', version);
  return query.orderBy('version', 'desc').limit(1).executeTakeFirst();
}

/** The latest version of each of the owner's templates, by name. */
export function latestTemplates(db: Db, tenantId: string | null): Promise<PromptTemplateRow[]> {
  return db
    .selectFrom('prompt_template')
    .selectAll()
    .distinctOn('name')
    .where(sql<string>`coalesce(tenant_id, '')`, '=', tenantId ?? '')
    .orderBy('name')
    .orderBy('version', 'desc')
    .execute();
}

/** Every version of one of the owner's templates, newest first. */
export function templateVersions(db: Db, tenantId: string | null, name: string): Promise<PromptTemplateRow[]> {
  return db
    .selectFrom('prompt_template')
    .selectAll()
    .where(sql<string>`coalesce(tenant_id, '')`, '=', tenantId ?? '')
    .where('name', '=', name)
    .orderBy('version', 'desc')
    .execute();
}
