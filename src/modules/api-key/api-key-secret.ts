import { sha256Hex } from '../../shared/digest.ts';
import { randomId } from '../../shared/ids.ts';

// A key reads `tg_<id>_<secret>`: the 8-character id finds the row (and is shown as the prefix), the
// 32 base-36 characters after it carry about 165 bits from the CSPRNG. Only the SHA-256 of the whole
// string is stored.

const apiKeyPattern = /^tg_([0-9a-z]{8})_([0-9a-z]{32})$/;

export const newApiKeyId = () => randomId(8);

/** The public, non-secret part of a key, safe to show and log. */
export const apiKeyPrefix = (id: string) => `tg_${id}`;

export function newApiKeySecret(id: string): { secret: string; digest: string } {
  const secret = `${apiKeyPrefix(id)}_${randomId(32)}`;
  return { secret, digest: sha256Hex(secret) };
}

/** Whether a bearer secret is meant to be an API key (rather than the admin key or a JWT). */
export const looksLikeApiKey = (secret: string) => secret.startsWith('tg_');

/** The key id inside a well-formed secret, or undefined. */
export function apiKeyIdOf(secret: string): string | undefined {
  return apiKeyPattern.exec(secret)?.[1];
}
