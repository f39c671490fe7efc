import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface ProviderCredentialTable {
  tenant_id: string;
  provider: string;
  /** Which encryption key sealed this row, so keys can rotate. */
  key_id: string;
  nonce: string;
  ciphertext: string;
  last4: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface InferenceConfigTable {
  tenant_id: string;
  preferred_provider: string | null;
  auto_failover: Generated<boolean>;
  model_overrides: ColumnType<Record<string, string>, string | undefined, string>;
  allowed_models: string[] | null;
  cache_enabled: Generated<boolean>;
  updated_at: Generated<Date>;
}

export type ProviderCredentialRow = Selectable<ProviderCredentialTable>;
export type InferenceConfigRow = Selectable<InferenceConfigTable>;
export type NewProviderCredential = Insertable<ProviderCredentialTable>;
export type NewInferenceConfig = Insertable<InferenceConfigTable>;
