import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { credentialContext } from '../../src/modules/inference-config/inference-config.service.ts';
import { findProviderCredential, upsertProviderCredential } from '../../src/modules/inference-config/inference-config.repository.ts';
import { insertTenant } from '../../src/modules/tenant/tenant.repository.ts';
import { keyringFromSecrets, SecretBox } from '../../src/shared/secret-box.ts';
import { openSqlDatabase } from '../../src/storage/sql-database.ts';
import { migrateSql } from '../../src/storage/sql-migrations.ts';
import { runCli } from '../testkit/process.ts';
import { sqlDialects } from '../testkit/sql-databases.ts';

const oldSecret = 'the-old-cli-secret-0123456789';
const newSecret = 'the-new-cli-secret-0123456789';
const apiKey = 'sk-cli-rotation-key-0123456789';
const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-secrets-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Opens the embedded database under `dataDir` (the CLI must not be running meanwhile), runs `work`, closes it. */
async function withDatabase<T>(dataDir: string, work: (db: Awaited<ReturnType<typeof openSqlDatabase>>['db']) => Promise<T>): Promise<T> {
  const handle = await openSqlDatabase({ dataDir });
  try {
    await migrateSql(handle.db);
    return await work(handle.db);
  } finally {
    await handle.db.destroy();
  }
}

describe('tollgate secrets rotate', () => {
  it('explains itself', async () => {
    const help = await runCli(['secrets', 'rotate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('TOLLGATE_SECRET_PREVIOUS');
    expect((await runCli(['--help'])).stdout).toContain('secrets rotate');
    expect((await runCli(['secrets', 'spin'])).code).toBe(2);
  });

  // Several CLI runs, each opening the on-disk database: slow on a loaded machine.
  it('re-encrypts credentials sealed with the previous key, and says which key it needs when not given', { timeout: 120_000 }, async () => {
    const dataDir = freshDir();
    const oldBox = new SecretBox(keyringFromSecrets(oldSecret));
    const newBox = new SecretBox(keyringFromSecrets(newSecret));
    await withDatabase(dataDir, async (db) => {
      await insertTenant(db, { id: 'tnt_cli', name: 'CLI', plan_id: 'free' });
      const sealed = oldBox.seal(apiKey, credentialContext('tnt_cli', 'gpu-a'));
      await upsertProviderCredential(db, { tenant_id: 'tnt_cli', provider: 'gpu-a', key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, last4: '6789' });
    });

    const missing = await runCli(['secrets', 'rotate'], { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_SECRET: newSecret });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`1 credential(s) sealed with ${oldBox.currentKeyId} could not be opened`);
    expect(missing.stderr).toContain('TOLLGATE_SECRET_PREVIOUS');

    const rotated = await runCli(['secrets', 'rotate'], { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_SECRET: newSecret, TOLLGATE_SECRET_PREVIOUS: oldSecret });
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`current key ${newBox.currentKeyId} (from TOLLGATE_SECRET)`);
    expect(rotated.stdout).toContain('re-encrypted 1 credential(s); 0 already used the current key');
    expect(`${rotated.stdout}${rotated.stderr}${missing.stdout}${missing.stderr}`).not.toContain(apiKey);

    await withDatabase(dataDir, async (db) => {
      const row = await findProviderCredential(db, 'tnt_cli', 'gpu-a');
      expect(row?.key_id).toBe(newBox.currentKeyId);
      expect(newBox.open({ keyId: row!.key_id, nonce: row!.nonce, ciphertext: row!.ciphertext }, credentialContext('tnt_cli', 'gpu-a'))).toBe(apiKey);
    });

    const again = await runCli(['secrets', 'rotate'], { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_SECRET: newSecret });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('re-encrypted 0 credential(s); 1 already used the current key');
  });

  const postgres = sqlDialects().find((d) => d.name === 'postgres');
  it.skipIf(!postgres)('refuses to serve a shared database without TOLLGATE_SECRET, and says why', async () => {
    const database = await postgres!.create();
    try {
      const result = await runCli(['serve'], { DATABASE_URL: database.databaseUrl!, TOLLGATE_DATA_DIR: freshDir(), PORT: '0' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('TOLLGATE_SECRET: required with DATABASE_URL');
    } finally {
      await database.dispose();
    }
  });
});
