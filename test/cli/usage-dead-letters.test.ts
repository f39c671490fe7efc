import { describe, expect, it } from 'vitest';
import { runCli } from '../testkit/process.ts';

// Listing and replaying real dead letters is proven in test/integration/usage-poison.test.ts.
describe('tollgate usage dead-letters', () => {
  it('explains itself and refuses what it does not know', async () => {
    const help = await runCli(['usage', 'dead-letters', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('tollgate usage dead-letters replay [--id EVENT_ID ...]');
    expect((await runCli(['help', 'usage'])).stdout).toContain('dead-letters list');
    expect((await runCli(['--help'])).stdout).toContain('usage dead-letters');
    const unknown = await runCli(['usage', 'dead-letters', 'purge']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown usage command "dead-letters purge"');
    const badFlag = await runCli(['usage', 'dead-letters', 'list', '--id', 'x']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--id'");
  });
});
