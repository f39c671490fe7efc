import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import { keyringFromSecrets, SecretBox } from './secret-box.ts';
import { loadSecretBox, secretKeyFileName } from './secret-keyring.ts';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-keyring-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const secret = 'operator-secret-0123456789';

describe('loadSecretBox', () => {
  it('uses TOLLGATE_SECRET when given, and writes no key file', () => {
    const dataDir = freshDir();
    const loaded = loadSecretBox({ secret, previousSecrets: [], dataDir, sharedDatabase: true });
    expect(loaded.source).toBe('TOLLGATE_SECRET');
    expect(loaded.box.currentKeyId).toBe(new SecretBox(keyringFromSecrets(secret)).currentKeyId);
    expect(() => statSync(join(dataDir, secretKeyFileName))).toThrow();
  });

  it('generates the key file once in embedded mode, mode 0600, and reuses it', () => {
    const dataDir = join(freshDir(), 'nested');
    const first = loadSecretBox({ secret: undefined, previousSecrets: [], dataDir, sharedDatabase: false });
    expect(first.source).toBe('generated key file');
    const file = join(dataDir, secretKeyFileName);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim().length).toBeGreaterThanOrEqual(32);
    const second = loadSecretBox({ secret: undefined, previousSecrets: [], dataDir, sharedDatabase: false });
    expect(second.source).toBe('key file');
    expect(second.box.currentKeyId).toBe(first.box.currentKeyId);
    const sealed = first.box.seal('value', 'ctx');
    expect(second.box.open(sealed, 'ctx')).toBe('value');
  });

  it('refuses to start with a shared database, no TOLLGATE_SECRET and no key file, and says what to do', () => {
    const dataDir = freshDir();
    let error: unknown;
    try {
      loadSecretBox({ secret: undefined, previousSecrets: [], dataDir, sharedDatabase: true });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems[0]).toMatch(/^TOLLGATE_SECRET: required with DATABASE_URL/);
    expect(() => statSync(join(dataDir, secretKeyFileName))).toThrow();
  });

  it('uses an existing key file with a shared database', () => {
    const dataDir = freshDir();
    writeFileSync(join(dataDir, secretKeyFileName), 'mounted-shared-key-0123456789\n', { mode: 0o600 });
    const loaded = loadSecretBox({ secret: undefined, previousSecrets: [], dataDir, sharedDatabase: true });
    expect(loaded.source).toBe('key file');
    expect(loaded.box.currentKeyId).toBe(new SecretBox(keyringFromSecrets('mounted-shared-key-0123456789')).currentKeyId);
    expect(loaded.warnings).toEqual([]);
  });

  it('keeps a key file beside TOLLGATE_SECRET, and TOLLGATE_SECRET_PREVIOUS, as decrypt-only keys', () => {
    const dataDir = freshDir();
    const generated = loadSecretBox({ secret: undefined, previousSecrets: [], dataDir, sharedDatabase: false });
    const oldValue = generated.box.seal('from-the-file-key', 'ctx');
    const older = new SecretBox(keyringFromSecrets('an-older-secret-0123456789')).seal('from-an-older-key', 'ctx');
    const loaded = loadSecretBox({ secret, previousSecrets: ['an-older-secret-0123456789'], dataDir, sharedDatabase: false });
    expect(loaded.box.currentKeyId).not.toBe(generated.box.currentKeyId);
    expect(loaded.box.open(oldValue, 'ctx')).toBe('from-the-file-key');
    expect(loaded.box.open(older, 'ctx')).toBe('from-an-older-key');
  });

  it('warns about a key file others can read, and refuses one too short to be a key', () => {
    const dataDir = freshDir();
    const file = join(dataDir, secretKeyFileName);
    writeFileSync(file, 'loose-permissions-0123456789\n');
    chmodSync(file, 0o644);
    expect(loadSecretBox({ secret: undefined, previousSecrets: [], dataDir, sharedDatabase: false }).warnings[0]).toContain('chmod 600');
    writeFileSync(file, 'short\n');
    expect(() => loadSecretBox({ secret: undefined, previousSecrets: [], dataDir, sharedDatabase: false })).toThrow(ConfigError);
  });
});
