import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface ApiKeyTable {
  /** The 8-character public id, also the middle of the secret `tg_<id>_<secret>`. */
  id: string;
  tenant_id: string;
  name: string;
  /** Hex SHA-256 of the whole secret; the secret itself is never stored. */
  secret_hash: string;
  /** After a rotation with a grace period, the old secret's digest stays valid until previous_valid_until. */
  previous_secret_hash: string | null;
  previous_valid_until: Date | null;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Generated<Date>;
}

export type ApiKeyRow = Selectable<ApiKeyTable>;
export type NewApiKey = Insertable<ApiKeyTable>;
export type ApiKeyUpdate = Updateable<ApiKeyTable>;
