import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../config.ts';
import { keyringFromSecrets, SecretBox } from './secret-box.ts';

// Where the key that encrypts stored credentials comes from:
// 1. TOLLGATE_SECRET, when set. Every instance sharing one database must be given the same value.
// 2. Otherwise <dataDir>/secret.key, when it exists (e.g. the same file mounted on each instance).
// 3. Otherwise, in embedded mode only, that file is generated once (mode 0600). With DATABASE_URL,
//    start-up is refused instead: a key generated per instance would leave each one unable to read
//    what the others wrote.
// TOLLGATE_SECRET_PREVIOUS (comma-separated) and a key file left beside a TOLLGATE_SECRET are kept
// as decrypt-only keys, so `tollgate secrets rotate` can re-encrypt what they sealed.

export const secretKeyFileName = 'secret.key';

export interface SecretSource {
  secret: string | undefined;
  previousSecrets: readonly string[];
  dataDir: string;
  /** True with DATABASE_URL: the database may be shared by instances that cannot share a generated file. */
  sharedDatabase: boolean;
}

export interface LoadedSecretBox {
  box: SecretBox;
  /** What the current key came from, for the start-up log (never the key itself). */
  source: 'TOLLGATE_SECRET' | 'key file' | 'generated key file';
  keyFile: string;
  /** Problems worth a warning that do not stop start-up. */
  warnings: string[];
}

export function loadSecretBox(source: SecretSource): LoadedSecretBox {
  const keyFile = resolve(join(source.dataDir, secretKeyFileName));
  const warnings: string[] = [];
  const fileSecret = readKeyFile(keyFile, warnings);
  if (source.secret !== undefined) {
    const previous = fileSecret === undefined ? source.previousSecrets : [...source.previousSecrets, fileSecret];
    return { box: new SecretBox(keyringFromSecrets(source.secret, previous)), source: 'TOLLGATE_SECRET', keyFile, warnings };
  }
  if (fileSecret !== undefined) {
    return { box: new SecretBox(keyringFromSecrets(fileSecret, source.previousSecrets)), source: 'key file', keyFile, warnings };
  }
  if (source.sharedDatabase) {
    throw new ConfigError('the environment', [
      `TOLLGATE_SECRET: required with DATABASE_URL (every instance sharing the database must encrypt provider credentials with the same key); set it to 16+ random characters, e.g. from \`openssl rand -base64 32\`, or place a shared key file at ${keyFile}`,
    ]);
  }
  const generated = generateKeyFile(keyFile);
  return { box: new SecretBox(keyringFromSecrets(generated, source.previousSecrets)), source: 'generated key file', keyFile, warnings };
}

function readKeyFile(path: string, warnings: string[]): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(path, [`cannot read the key file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  const secret = text.trim();
  if (secret.length < 16) throw new ConfigError(path, ['the key file must hold a secret of at least 16 characters']);
  if ((statSync(path).mode & 0o077) !== 0) warnings.push(`${path} is readable by other users: chmod 600 it`);
  return secret;
}

function generateKeyFile(path: string): string {
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  try {
    // 'wx': if another process on the same data dir won the race, use its key rather than overwrite it.
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(path, 'utf8').trim();
  }
}
