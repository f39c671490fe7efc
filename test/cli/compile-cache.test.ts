import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../testkit/process.ts';

describe('tollgate CLI compile cache', () => {
  it('compiles the TypeScript once, and later starts never load the type stripper', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-compile-cache-'));
    // Node's own TypeScript stripper is an internal module; the list says whether this process loaded it.
    const report = join(dir, 'report-stripper.mjs');
    writeFileSync(report, `process.on('exit', () => process.stderr.write(\`stripper loaded: \${process.moduleLoadList.some((m) => m.includes('amaro'))}\\n\`));\n`);
    const env = { TMPDIR: dir, NODE_OPTIONS: `--import=${pathToFileURL(report).href}` };

    const first = await runCli(['print-schema'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('type Query');
    expect(first.stderr).toContain('stripper loaded: true');
    expect(readdirSync(join(dir, 'node-compile-cache')).length).toBeGreaterThan(0);

    const second = await runCli(['print-schema'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toContain('stripper loaded: false');
  });
});
