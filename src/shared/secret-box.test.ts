import { describe, expect, it } from 'vitest';
import { deriveKey, keyIdFor, keyringFromSecrets, SecretBox, SecretBoxError } from './secret-box.ts';

const secretA = 'first-secret-0123456789';
const secretB = 'second-secret-0123456789';

describe('SecretBox', () => {
  it('derives the same 32-byte key and key id from the same secret, and different ones otherwise', () => {
    expect(deriveKey(secretA)).toHaveLength(32);
    expect(deriveKey(secretA).equals(deriveKey(secretA))).toBe(true);
    expect(keyIdFor(deriveKey(secretA))).toBe(keyIdFor(deriveKey(secretA)));
    expect(keyIdFor(deriveKey(secretA))).not.toBe(keyIdFor(deriveKey(secretB)));
    expect(keyIdFor(deriveKey(secretA))).toMatch(/^k_[0-9a-f]{16}$/);
  });

  it('round-trips a value, with a fresh 12-byte nonce on every seal', () => {
    const box = new SecretBox(keyringFromSecrets(secretA));
    const first = box.seal('sk-live-abcdef123456', 'tenant/provider');
    const second = box.seal('sk-live-abcdef123456', 'tenant/provider');
    expect(Buffer.from(first.nonce, 'base64')).toHaveLength(12);
    expect(first.nonce).not.toBe(second.nonce);
    expect(first.ciphertext).not.toBe(second.ciphertext);
    expect(first.keyId).toBe(box.currentKeyId);
    expect(box.open(first, 'tenant/provider')).toBe('sk-live-abcdef123456');
    expect(box.open(second, 'tenant/provider')).toBe('sk-live-abcdef123456');
  });

  it('never stores the plaintext in the ciphertext', () => {
    const box = new SecretBox(keyringFromSecrets(secretA));
    const sealed = box.seal('sk-visible-needle', 'ctx');
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('latin1')).not.toContain('sk-visible-needle');
    expect(sealed.ciphertext).not.toContain('sk-visible-needle');
  });

  it('refuses a value opened under another context, a tampered one and one sealed with an unknown key', () => {
    const box = new SecretBox(keyringFromSecrets(secretA));
    const sealed = box.seal('value', 'tenant-a/gpu');
    expect(() => box.open(sealed, 'tenant-b/gpu')).toThrow(SecretBoxError);
    const body = Buffer.from(sealed.ciphertext, 'base64');
    body[0] = (body[0] ?? 0) ^ 1;
    expect(() => box.open({ ...sealed, ciphertext: body.toString('base64') }, 'tenant-a/gpu')).toThrow(SecretBoxError);
    const other = new SecretBox(keyringFromSecrets(secretB));
    expect(() => other.open(sealed, 'tenant-a/gpu')).toThrow(/TOLLGATE_SECRET_PREVIOUS/);
  });

  it('opens values sealed with a previous key and seals new ones with the current key', () => {
    const old = new SecretBox(keyringFromSecrets(secretA));
    const sealedOld = old.seal('value', 'ctx');
    const rotated = new SecretBox(keyringFromSecrets(secretB, [secretA]));
    expect(rotated.currentKeyId).not.toBe(old.currentKeyId);
    expect(rotated.canOpen(old.currentKeyId)).toBe(true);
    expect(rotated.open(sealedOld, 'ctx')).toBe('value');
    expect(rotated.seal('value', 'ctx').keyId).toBe(rotated.currentKeyId);
    expect(rotated.keyIds.sort()).toEqual([old.currentKeyId, rotated.currentKeyId].sort());
  });

  it('refuses a keyring without its current key', () => {
    expect(() => new SecretBox({ currentKeyId: 'k_missing', keys: new Map() })).toThrow(SecretBoxError);
    expect(() => new SecretBox({ currentKeyId: 'k_short', keys: new Map([['k_short', Buffer.alloc(16)]]) })).toThrow(/32-byte/);
  });
});
