import type { ColumnType, Selectable } from 'kysely';
import type { CachedCompletion } from './response-cache.ts';

export interface ResponseCacheTable {
  /** `responseCacheKey`: the tenant, then a digest of everything that shapes the answer. */
  key: string;
  tenant_id: string;
  /** JSON text on the way in. */
  entry: ColumnType<CachedCompletion, string, string>;
  expires_at: Date;
}

export type ResponseCacheRow = Selectable<ResponseCacheTable>;
