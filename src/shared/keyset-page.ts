import { badInput } from './errors.ts';

/** A position in a list ordered by (created_at, id): stable under inserts, unlike offsets. */
export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

/** What Pothos' resolveCursorConnection asks for, with cursors decoded. */
export interface KeysetPage {
  limit: number;
  after: KeysetPosition | undefined;
  before: KeysetPosition | undefined;
  /** True when paging backwards (`last`): rows come newest first and Pothos reverses them. */
  inverted: boolean;
}

export function encodeCursor(row: { created_at: Date; id: string }): string {
  return Buffer.from(`${row.created_at.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): KeysetPosition | undefined {
  if (!cursor) return undefined;
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(time ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) throw badInput(`"${cursor}" is not a cursor from this list`);
  return { createdAt, id };
}

export function keysetPage(args: { limit: number; after?: string | null; before?: string | null; inverted: boolean }): KeysetPage {
  return { limit: args.limit, after: decodeCursor(args.after), before: decodeCursor(args.before), inverted: args.inverted };
}
