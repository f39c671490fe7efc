import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startServeProcess } from '../testkit/process.ts';

const freshDir = () => mkdtempSync(join(tmpdir(), 'tollgate-cli-'));

describe('tollgate CLI', () => {
  it('prints help for the whole tool and for each command', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'migrate', 'print-schema']) expect(help.stdout).toContain(command);
    const serveHelp = await runCli(['serve', '--help']);
    expect(serveHelp.code).toBe(0);
    expect(serveHelp.stdout).toContain('SIGTERM');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('stops start-up with one line per wrong environment field', async () => {
    const result = await runCli(['serve'], { PORT: 'eighty', DATABASE_URL: 'mysql://x', TOLLGATE_DATA_DIR: freshDir() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/PORT \(server\.port: .+\)/);
    expect(result.stderr).toMatch(/DATABASE_URL \(storage\.databaseUrl: .+\)/);
  });

  it('names each wrong field of the YAML file, and a malformed one', async () => {
    const dir = freshDir();
    const path = join(dir, 'tollgate.yaml');
    writeFileSync(
      path,
      `providers:\n  - { name: a, type: triton, baseUrl: http://x }\nmodels:\n  - name: m\n    deployments: [{ provider: missing, model: x }]\nrouting: { strategy: random }\n`,
    );
    const wrong = await runCli(['serve'], { TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(path);
    expect(wrong.stderr).toMatch(/providers\[0\]\.type: .*openai.*ollama/);
    expect(wrong.stderr).toMatch(/routing\.strategy: .*round-robin/);

    // Cross-references are checked once each entry is well-formed.
    writeFileSync(path, `providers:\n  - { name: a, type: openai, baseUrl: http://x }\nmodels:\n  - name: m\n    deployments: [{ provider: missing, model: x }]\n`);
    const dangling = await runCli(['serve'], { TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir });
    expect(dangling.code).toBe(1);
    expect(dangling.stderr).toMatch(/models\[0\]\.deployments\[0\]\.provider: unknown provider "missing" \(declared: a\)/);

    writeFileSync(path, 'providers: [ { name: a\n');
    const malformed = await runCli(['serve'], { TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('malformed YAML');
  });

  it('names a database that refuses connections', async () => {
    const result = await runCli(['serve'], { DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:1/db', TOLLGATE_DATA_DIR: freshDir() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot connect to the database at postgres://u:***@127.0.0.1:1/db');
    expect(result.stderr).not.toContain('secretpw');
  });

  it('says so when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['serve'], { PORT: String(port), TOLLGATE_DATA_DIR: freshDir() });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port 127.0.0.1:${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('migrates the embedded database, then finds nothing to do', async () => {
    const dir = freshDir();
    const first = await runCli(['migrate'], { TOLLGATE_DATA_DIR: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/pglite .*: applied 2026/);
    const second = await runCli(['migrate'], { TOLLGATE_DATA_DIR: dir });
    expect(second.stdout).toContain('up to date');
  });

  it("refuses the CLI on a running gateway's embedded database, and frees it when the gateway stops", { timeout: 90_000 }, async () => {
    const dir = freshDir();
    const server = await startServeProcess({ PORT: '0', TOLLGATE_DATA_DIR: dir, TOLLGATE_ADMIN_KEY: 'admin-key-for-the-cli-test' });
    const exited = new Promise<number | null>((resolve) => server.child.on('exit', resolve));
    const refused = await runCli(['tenant', 'list'], { TOLLGATE_DATA_DIR: dir }, 60_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`in use by process ${server.child.pid}`);
    // The database's thread ends with the gateway: once it exited, nothing holds the data dir.
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const listed = await runCli(['tenant', 'list'], { TOLLGATE_DATA_DIR: dir }, 60_000);
    expect(listed.code).toBe(0);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const server = await startServeProcess({ PORT: '0', TOLLGATE_DATA_DIR: freshDir(), TOLLGATE_ADMIN_KEY: 'admin-key-for-the-cli-test' });
    const exited = new Promise<number | null>((resolve) => server.child.on('exit', resolve));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(server.output()).toContain('draining');
  });
});
