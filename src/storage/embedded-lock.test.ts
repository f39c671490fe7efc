import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { lockEmbeddedDatabase } from './embedded-lock.ts';

it('refuses a data dir held by another running process, naming it, and takes over a stale lock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-lock-'));
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  await once(holder, 'spawn');
  try {
    writeFileSync(join(dir, 'tollgate.lock'), String(holder.pid));
    expect(() => lockEmbeddedDatabase(dir)).toThrow(`in use by process ${holder.pid}`);
  } finally {
    holder.kill();
    await once(holder, 'exit');
  }
  lockEmbeddedDatabase(dir);
  const release = lockEmbeddedDatabase(dir);
  expect(existsSync(join(dir, 'tollgate.lock'))).toBe(true);
  release();
  expect(existsSync(join(dir, 'tollgate.lock'))).toBe(false);
});
