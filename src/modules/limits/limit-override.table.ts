import type { Generated, Insertable, Selectable } from 'kysely';

/** A tenant's (api_key_id '') or one API key's override of its plan's rate limits; null keeps the plan's value. */
export interface LimitOverrideTable {
  tenant_id: string;
  api_key_id: Generated<string>;
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  concurrent_requests: number | null;
  updated_at: Generated<Date>;
}

export type LimitOverrideRow = Selectable<LimitOverrideTable>;
export type NewLimitOverride = Insertable<LimitOverrideTable>;
