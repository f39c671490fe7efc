import type { Config } from '../config.ts';
import { rotateCredentials } from '../modules/inference-config/index.ts';
import { loadSecretBox } from '../shared/secret-keyring.ts';
import { openSqlDatabase } from '../storage/sql-database.ts';
import { migrateSql } from '../storage/sql-migrations.ts';

// Key management for stored provider credentials. See docs/identity.md, "Provider credential keys".

export const secretsCommandHelp: Record<string, string> = {
  secrets: `Usage: tollgate secrets rotate

  rotate   re-encrypt every stored provider credential with the current key

Run "tollgate secrets rotate --help" for details.
`,
  'secrets rotate': `Usage: tollgate secrets rotate

Re-encrypts every stored provider credential with the current key: TOLLGATE_SECRET, or the key
file <TOLLGATE_DATA_DIR>/secret.key when TOLLGATE_SECRET is unset. Credentials sealed with an
older key are opened with the secrets in TOLLGATE_SECRET_PREVIOUS (comma-separated), or with the
key file when it sits beside a TOLLGATE_SECRET.

To change the key without downtime:
  1. on every instance set TOLLGATE_SECRET=<new> and TOLLGATE_SECRET_PREVIOUS=<old>, restart
  2. run "tollgate secrets rotate" once, with the same environment
  3. drop TOLLGATE_SECRET_PREVIOUS and restart

Safe while gateways serve. Exits 1 if some credential could not be opened with any key given;
those are left as they were. Works on DATABASE_URL or the embedded database, applying pending
migrations first.
`,
};

export async function runSecretsCommand(args: string[], loadConfig: () => Config): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'rotate' || rest.length > 0) {
    process.stderr.write(`tollgate: unknown secrets command "${args.join(' ')}"\n\n${secretsCommandHelp.secrets}`);
    return 2;
  }
  const config = loadConfig();
  const database = await openSqlDatabase({ databaseUrl: config.storage.databaseUrl, dataDir: config.storage.dataDir });
  try {
    await migrateSql(database.db);
    const secrets = loadSecretBox({
      secret: config.auth.secret,
      previousSecrets: config.auth.previousSecrets,
      dataDir: config.storage.dataDir,
      sharedDatabase: config.storage.databaseUrl !== undefined,
    });
    for (const warning of secrets.warnings) process.stderr.write(`tollgate: warning: ${warning}\n`);
    const report = await rotateCredentials(database.db, secrets.box);
    process.stdout.write(
      `current key ${report.currentKeyId} (from ${secrets.source === 'TOLLGATE_SECRET' ? 'TOLLGATE_SECRET' : secrets.keyFile})\n` +
        `re-encrypted ${report.reencrypted} credential(s); ${report.alreadyCurrent} already used the current key\n`,
    );
    if (report.failed.length > 0) {
      const keyIds = [...new Set(report.failed.map((f) => f.keyId))].join(', ');
      process.stderr.write(
        `tollgate: ${report.failed.length} credential(s) sealed with ${keyIds} could not be opened: ` +
          'set TOLLGATE_SECRET_PREVIOUS to the secret that sealed them and run this again\n',
      );
      return 1;
    }
    return 0;
  } finally {
    await database.db.destroy();
  }
}
