import { randomFillSync } from 'node:crypto';

const alphabet = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz', 'latin1');

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

/** `count` random bytes copied into `into`, from the pool. */
function randomBytesInto(into: Buffer, count: number): Buffer {
  for (let i = 0; i < count; i++) into[i] = randomByte();
  return into;
}

// An id is spelled in a scratch buffer and decoded once: a string built a character at a time
// allocates a string per character.
const scratch = Buffer.allocUnsafe(64);

/** Short random id from a CSPRNG, lower-case alphanumerics (rejection sampling keeps it unbiased). */
export function randomId(length: number): string {
  const chars = length <= scratch.length ? scratch : Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const byte = randomByte();
    if (byte < 252) chars[filled++] = alphabet[byte % 36]!;
  }
  return chars.toString('latin1', 0, length);
}

/** `req_` and 128 random bits in hex. */
export const newRequestId = (): string => `req_${randomBytesInto(scratch, 16).toString('hex', 0, 16)}`;

/** A random (version 4) UUID. */
export function newEventId(): string {
  const bytes = randomBytesInto(scratch, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Accepts a caller's request id only if it is short and printable, so it is safe in logs and headers. */
export function saneRequestId(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}
