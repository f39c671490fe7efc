import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for the SSO refresh tokens a session row keeps: a database dump alone does not let
 * anyone refresh a session. The key derives from TOLLGATE_SECRET (random per process without one).
 */
export class TextSealer {
  readonly #key: Buffer;

  constructor(secret: string | undefined, purpose: string) {
    this.#key = secret === undefined ? randomBytes(32) : Buffer.from(hkdfSync('sha256', secret, 'tollgate', purpose, 32));
  }

  seal(text: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.');
  }

  /** The text, or undefined when it was sealed with another key or altered. */
  open(sealed: string): string | undefined {
    const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
    if (!iv || !tag || !body) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
