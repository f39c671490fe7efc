import { randomFillSync, randomUUID } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

// Random bytes are drawn from the CSPRNG a few KiB at a time and each is used once: one call per id
// (randomBytes) cost more than the rest of minting an id, on every request.
const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

function randomByte(): number {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  return pool[offset++]!;
}

// Spelled in a scratch buffer and read out as one string: appended a character at a time, an id of 13
// characters or more is a chain of string pieces, kept as long as the id (a stream's whole life).
const alphabetCodes = Buffer.from(alphabet, 'latin1');
const scratch = Buffer.allocUnsafe(64);

/** Short random id from a CSPRNG, lower-case alphanumerics (rejection sampling keeps it unbiased). */
export function randomId(length: number): string {
  const out = length <= scratch.length ? scratch : Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const byte = randomByte();
    if (byte < 252) out[filled++] = alphabetCodes[byte % 36]!;
  }
  return out.toString('latin1', 0, length);
}

export const newRequestId = () => `req_${randomUUID().replaceAll('-', '')}`;
export const newEventId = () => randomUUID();

/** Accepts a caller's request id only if it is short and printable, so it is safe in logs and headers. */
export function saneRequestId(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}
