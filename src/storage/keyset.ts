import { sql, type SelectQueryBuilder } from 'kysely';
import type { KeysetPage } from '../shared/keyset-page.ts';

/** Applies a keyset page over (created_at, id) of `table` to a select query. */
export function applyKeyset<DB, TB extends keyof DB & string, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  table: TB,
  page: KeysetPage,
): SelectQueryBuilder<DB, TB, O> {
  const createdAt = sql.ref(`${table}.created_at`);
  const id = sql.ref(`${table}.id`);
  let q = query;
  if (page.after) q = q.where(sql<boolean>`(${createdAt}, ${id}) > (${page.after.createdAt}, ${page.after.id})`);
  if (page.before) q = q.where(sql<boolean>`(${createdAt}, ${id}) < (${page.before.createdAt}, ${page.before.id})`);
  const direction = page.inverted ? sql`desc` : sql`asc`;
  return q.orderBy(sql`${createdAt} ${direction}`).orderBy(sql`${id} ${direction}`).limit(page.limit);
}
