import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

// AES-256-GCM for secrets stored at rest (tenants' provider credentials). Each value is sealed with a
// fresh 12-byte nonce and stored beside the id of the key that sealed it, so keys can rotate: new
// values use the current key, older ones open with any key still in the keyring.

const algorithm = 'aes-256-gcm';
const nonceBytes = 12;
const tagBytes = 16;
const keyBytes = 32;

/** The keys a process can open values with; `currentKeyId` names the one that seals new values. */
export interface Keyring {
  currentKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** A sealed value as stored: base64 nonce, base64 ciphertext followed by its 16-byte GCM tag. */
export interface SealedSecret {
  keyId: string;
  nonce: string;
  ciphertext: string;
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/**
 * 32 key bytes from an operator's secret (any string of 16+ characters) with HKDF-SHA256, so a
 * passphrase-like TOLLGATE_SECRET still yields a uniformly random AES key.
 */
export function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'tollgate/secret-box', 'provider-credentials/v1', keyBytes));
}

/** A short, stable name for a key: every instance given the same secret computes the same id. */
export function keyIdFor(key: Buffer): string {
  return `k_${createHash('sha256').update('tollgate/key-id/v1').update(key).digest('hex').slice(0, 16)}`;
}

/** A keyring whose current key derives from `current`; `previous` secrets only open older values. */
export function keyringFromSecrets(current: string, previous: readonly string[] = []): Keyring {
  const currentKey = deriveKey(current);
  const keys = new Map<string, Buffer>();
  for (const secret of previous) {
    const key = deriveKey(secret);
    keys.set(keyIdFor(key), key);
  }
  const currentKeyId = keyIdFor(currentKey);
  keys.set(currentKeyId, currentKey);
  return { currentKeyId, keys };
}

export class SecretBox {
  readonly #keyring: Keyring;

  constructor(keyring: Keyring) {
    const current = keyring.keys.get(keyring.currentKeyId);
    if (!current || current.length !== keyBytes) throw new SecretBoxError(`the keyring has no ${keyBytes}-byte key "${keyring.currentKeyId}"`);
    for (const [id, key] of keyring.keys) {
      if (key.length !== keyBytes) throw new SecretBoxError(`key "${id}" is ${key.length} bytes, not ${keyBytes}`);
    }
    this.#keyring = { currentKeyId: keyring.currentKeyId, keys: new Map(keyring.keys) };
  }

  get currentKeyId(): string {
    return this.#keyring.currentKeyId;
  }

  /** Ids of every key this box can open with, the current one included. */
  get keyIds(): string[] {
    return [...this.#keyring.keys.keys()];
  }

  canOpen(keyId: string): boolean {
    return this.#keyring.keys.has(keyId);
  }

  /**
   * Seals `plaintext` with the current key. `context` (e.g. "tenant/provider") is authenticated but not
   * stored, so a ciphertext copied to another row no longer opens.
   */
  seal(plaintext: string, context: string): SealedSecret {
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv(algorithm, this.#key(this.#keyring.currentKeyId), nonce, { authTagLength: tagBytes });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { keyId: this.#keyring.currentKeyId, nonce: nonce.toString('base64'), ciphertext: body.toString('base64') };
  }

  /** Opens a sealed value; throws SecretBoxError for an unknown key, a wrong context or any tampering. */
  open(sealed: SealedSecret, context: string): string {
    if (!this.#keyring.keys.has(sealed.keyId)) {
      throw new SecretBoxError(`no key "${sealed.keyId}" in the keyring (set TOLLGATE_SECRET_PREVIOUS to the secret that sealed it)`);
    }
    const nonce = Buffer.from(sealed.nonce, 'base64');
    const body = Buffer.from(sealed.ciphertext, 'base64');
    if (nonce.length !== nonceBytes || body.length < tagBytes) throw new SecretBoxError('malformed sealed value');
    const decipher = createDecipheriv(algorithm, this.#key(sealed.keyId), nonce, { authTagLength: tagBytes });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - tagBytes));
    try {
      return Buffer.concat([decipher.update(body.subarray(0, body.length - tagBytes)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`sealed value does not authenticate with key "${sealed.keyId}"`);
    }
  }

  #key(id: string): Buffer {
    const key = this.#keyring.keys.get(id);
    if (!key) throw new SecretBoxError(`no key "${id}" in the keyring`);
    return key;
  }
}
