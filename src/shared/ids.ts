import { randomBytes, randomUUID } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Short random id from a CSPRNG, lower-case alphanumerics (rejection sampling keeps it unbiased). */
export function randomId(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 252 && out.length < length) out += alphabet[byte % 36];
    }
  }
  return out;
}

export const newRequestId = () => `req_${randomUUID().replaceAll('-', '')}`;
export const newEventId = () => randomUUID();

/** Accepts a caller's request id only if it is short and printable, so it is safe in logs and headers. */
export function saneRequestId(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}
