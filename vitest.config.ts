import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // One copy of graphql, as under plain Node: vite would otherwise give our sources its ESM build while
  // externalised packages (graphql-ws, yoga) load the CommonJS one, and `instanceof GraphQLError` fails.
  resolve: { alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }] },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'client/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share real servers; files run in parallel but each uses its own database/schema.
    pool: 'forks',
    reporters: ['default', './test/testkit/skipped-services-reporter.ts'],
  },
});
