import { badInput } from '../../shared/errors.ts';

/** What a key may do: call models, read its tenant's usage, or manage the tenant's keys and configuration. */
export const apiKeyScopes = ['inference', 'usage:read', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export const defaultApiKeyScopes: readonly ApiKeyScope[] = ['inference', 'usage:read'];

export const isApiKeyScope = (value: string): value is ApiKeyScope => (apiKeyScopes as readonly string[]).includes(value);

/** Validates requested scopes (defaulting when none are given), deduplicated in a stable order. */
export function normaliseScopes(requested: readonly string[] | null | undefined): ApiKeyScope[] {
  if (requested === null || requested === undefined) return [...defaultApiKeyScopes];
  if (requested.length === 0) throw badInput('a key needs at least one scope', { field: 'scopes' });
  const unknown = requested.filter((scope) => !isApiKeyScope(scope));
  if (unknown.length > 0) {
    throw badInput(`unknown scope ${unknown.map((s) => `"${s}"`).join(', ')} (known: ${apiKeyScopes.join(', ')})`, { field: 'scopes' });
  }
  return apiKeyScopes.filter((scope) => requested.includes(scope));
}
