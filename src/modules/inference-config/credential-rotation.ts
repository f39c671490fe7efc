import type { SecretBox } from '../../shared/secret-box.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { insertAuditEntry } from '../audit/index.ts';
import { countCredentialsByKeyId, listCredentialsSealedWithOtherKeys, resealProviderCredential } from './inference-config.repository.ts';
import { credentialContext } from './inference-config.service.ts';

export interface RotationReport {
  currentKeyId: string;
  reencrypted: number;
  alreadyCurrent: number;
  /** Credentials sealed with a key the keyring lacks (or that fail to authenticate): left as they were. */
  failed: { tenantId: string; provider: string; keyId: string }[];
}

const batchSize = 200;

/**
 * Re-encrypts every stored credential not sealed with the box's current key, so an old key can then
 * be dropped. Safe to run while gateways serve: each row is replaced only if unchanged since it was read.
 */
export async function rotateCredentials(db: SqlDatabase, box: SecretBox, actor = 'tollgate secrets rotate'): Promise<RotationReport> {
  const report: RotationReport = { currentKeyId: box.currentKeyId, reencrypted: 0, alreadyCurrent: 0, failed: [] };
  let after: { tenantId: string; provider: string } | undefined;
  for (;;) {
    const rows = await listCredentialsSealedWithOtherKeys(db, box.currentKeyId, batchSize, after);
    for (const row of rows) {
      const context = credentialContext(row.tenant_id, row.provider);
      let plaintext: string;
      try {
        plaintext = box.open({ keyId: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext }, context);
      } catch {
        report.failed.push({ tenantId: row.tenant_id, provider: row.provider, keyId: row.key_id });
        continue;
      }
      // A row changed meanwhile was set with the current key already.
      if (await resealProviderCredential(db, row, box.seal(plaintext, context))) report.reencrypted += 1;
    }
    const last = rows.at(-1);
    if (!last || rows.length < batchSize) break;
    after = { tenantId: last.tenant_id, provider: last.provider };
  }
  report.alreadyCurrent = (await countCredentialsByKeyId(db)).get(box.currentKeyId) ?? 0;
  report.alreadyCurrent -= report.reencrypted;
  if (report.reencrypted > 0 || report.failed.length > 0) {
    await insertAuditEntry(db, {
      tenantId: null,
      actorType: 'cli',
      actorId: actor,
      action: 'secrets.rotate',
      target: box.currentKeyId,
      details: { reencrypted: report.reencrypted, failed: report.failed.length },
      requestId: null,
    });
  }
  return report;
}
