import { createHash, hash, timingSafeEqual } from 'node:crypto';

// crypto.hash is the one-shot form: no Hash object per call, which shows on the per-request auth path.
export const sha256Hex = (value: string): string => hash('sha256', value, 'hex');

/** The raw digest, for comparing in constant time without decoding hex on every request. */
export const sha256 = (value: string): Buffer => hash('sha256', value, 'buffer');

/** Compares two secrets by their digests in constant time, whatever their lengths. */
export function secretsEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(presented).digest(), createHash('sha256').update(expected).digest());
}

/** Compares two digests of equal length in constant time. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
