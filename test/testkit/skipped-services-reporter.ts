import type { Reporter, TestModule } from 'vitest/node';
import { serviceVariables } from './services.ts';

/** After a run without the real servers, one line saying what was skipped and what turns it on. */
export default class SkippedServicesReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const missing = serviceVariables.filter((variable) => !process.env[variable]?.trim());
    if (missing.length === 0) return;
    const files = testModules.filter((module) => !module.children.allTests('skipped').next().done);
    if (files.length === 0) return;
    const skipped = files.reduce((sum, module) => sum + [...module.children.allTests('skipped')].length, 0);
    console.log(
      `\n${skipped} tests skipped in ${files.length} files (${files.map((module) => module.relativeModuleId).join(', ')}): ` +
        `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set. ` +
        '`bash scripts/services.sh` starts Postgres, Redis, a Redis Cluster and ClickHouse and prints what to export.',
    );
  }
}
