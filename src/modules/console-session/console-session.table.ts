import type { Generated, Insertable, Selectable } from 'kysely';

export interface ConsoleSessionTable {
  id: string;
  /** The principal kind that signed in: platform, api-key or user. */
  kind: 'platform' | 'api-key' | 'user';
  tenant_id: string | null;
  user_id: string | null;
  /** A dashboard user's role (admin | member). */
  role: string | null;
  api_key_id: string | null;
  /** Hex SHA-256 of the admin key or API key secret signed in with, re-checked on every use. */
  secret_digest: string | null;
  /** SSO sessions: the provider's refresh token, sealed with a key derived from TOLLGATE_SECRET. */
  sso_refresh_token: string | null;
  /** When the session stops being accepted: a fixed lifetime, or its JWT's or SSO tokens' expiry if sooner (SSO refreshes it). */
  expires_at: Date;
  revoked_at: Date | null;
  created_at: Generated<Date>;
}

export type ConsoleSessionRow = Selectable<ConsoleSessionTable>;
export type NewConsoleSession = Insertable<ConsoleSessionTable>;
