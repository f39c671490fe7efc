import { readdirSync } from 'node:fs';
import { join } from 'node:path';

// Module doors. A file reaches another module of src/modules only through its index.ts, and a module
// uses only the modules declared for it below. The declared graph must stay free of cycles: adding an
// edge that closes one fails every lint run. A *.schema.ts may import another module's *.schema.ts
// (GraphQL types refer to each other); those files stay out of the doors because importing one
// registers its types, and src/schema.ts imports them all.

export const moduleDependencies = {
  identity: [],
  audit: ['identity'],
  pricing: ['audit', 'identity'],
  plan: ['audit', 'identity', 'pricing'],
  tenant: ['audit', 'identity', 'plan'],
  'api-key': ['audit', 'identity', 'tenant'],
  auth: ['api-key', 'identity', 'tenant'],
  'console-session': ['auth', 'identity', 'tenant'],
  'inference-config': ['audit', 'identity', 'tenant'],
  usage: ['identity', 'tenant'],
  experiment: ['audit', 'identity', 'tenant', 'usage'],
  completion: ['experiment', 'identity', 'pricing', 'usage'],
  feedback: ['completion', 'identity', 'usage'],
  'prompt-template': ['completion', 'identity', 'tenant'],
  'model-catalog': ['completion', 'identity', 'pricing'],
  limits: ['api-key', 'audit', 'completion', 'identity', 'plan', 'tenant', 'usage'],
  quota: ['identity', 'limits', 'tenant', 'usage'],
  budget: ['audit', 'completion', 'identity', 'plan', 'pricing', 'quota', 'tenant', 'usage'],
  billing: ['budget', 'completion', 'identity', 'plan', 'pricing', 'tenant', 'usage'],
};

/** Throws naming the first cycle found in the declared graph. */
export function assertNoCycle(graph) {
  const done = new Set();
  const visit = (name, path) => {
    if (path.includes(name)) throw new Error(`modules form a cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
    if (done.has(name)) return;
    for (const next of graph[name] ?? []) visit(next, [...path, name]);
    done.add(name);
  };
  for (const name of Object.keys(graph)) visit(name, []);
}

const pastTheDoor = 'import another module through its index.ts, the only part of it others may use';

function undeclared(name, allowed) {
  const others = allowed.length ? `(?!(?:${allowed.join('|')})/)` : '';
  return {
    regex: `^\\.\\./${others}[^./][^/]*/`,
    message: `${name} may use only ${allowed.join(', ') || 'no other module'}: declare a new dependency in eslint.modules.js (a cycle is refused)`,
  };
}

/** A relative import of another module's file other than index.ts (or, where allowed, a *.schema.ts). */
const otherModuleFile = (prefix, schemaToo) => ({
  regex: `${prefix}[^./][^/]*/(?!index\\.ts$${schemaToo ? '|[^/]+\\.schema\\.ts$' : ''})[^/]+$`,
  message: pastTheDoor,
});

const restrict = (files, patterns, ignores = []) => ({ files, ignores, rules: { 'no-restricted-imports': ['error', { patterns }] } });

/** no-restricted-imports configs: per module (its schema files apart), and for the rest of src/. */
export function moduleDoorConfigs(graph) {
  assertNoCycle(graph);
  const folders = readdirSync(join(import.meta.dirname, 'src', 'modules'), { withFileTypes: true }).filter((e) => e.isDirectory());
  for (const { name } of folders) if (!(name in graph)) throw new Error(`src/modules/${name} is not declared in eslint.modules.js`);
  const perModule = Object.entries(graph).flatMap(([name, allowed]) => [
    restrict([`src/modules/${name}/**/*.ts`], [undeclared(name, allowed), otherModuleFile('^\\.\\./', false)], ['**/*.test.ts', '**/*.schema.ts']),
    restrict([`src/modules/${name}/**/*.schema.ts`], [undeclared(name, allowed), otherModuleFile('^\\.\\./', true)]),
  ]);
  return [
    restrict(['src/**/*.ts'], [otherModuleFile('(?:^|/)modules/', false)], ['src/modules/**', 'src/schema.ts', '**/*.test.ts']),
    restrict(['src/schema.ts'], [otherModuleFile('(?:^|/)modules/', true)]),
    ...perModule,
  ];
}
