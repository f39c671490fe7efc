import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Claims the embedded database's directory for this process until the returned release is called (or
 * the process exits). PGlite is one process's database: a second process opening the same files (the
 * CLI beside a running gateway) would hang or corrupt them. A lock left by a process that is gone is
 * taken over.
 */
export function lockEmbeddedDatabase(dataPath: string): () => void {
  const lockPath = join(dataPath, 'tollgate.lock');
  const holder = lockHolder(lockPath);
  if (holder !== undefined && holder !== process.pid && isRunning(holder)) {
    throw new Error(
      `the embedded database in ${dataPath} is in use by process ${holder} (a running gateway?): stop it first, ` +
        `or use its GraphQL API, or run both on DATABASE_URL (if no such process exists, delete ${lockPath})`,
    );
  }
  writeFileSync(lockPath, String(process.pid));
  if (heldLocks.size === 0) process.once('exit', releaseLocks);
  heldLocks.add(lockPath);
  return () => {
    heldLocks.delete(lockPath);
    if (lockHolder(lockPath) === process.pid) rmSync(lockPath, { force: true });
  };
}

const heldLocks = new Set<string>();

function releaseLocks(): void {
  for (const lockPath of heldLocks) if (lockHolder(lockPath) === process.pid) rmSync(lockPath, { force: true });
}

function lockHolder(lockPath: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
