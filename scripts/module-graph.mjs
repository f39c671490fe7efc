// Prints the dependency graph between src/modules/<m>/ folders: modules, edges (with how many imports
// make each), cycles between modules, and imports that reach past another module's index.ts (type-only
// imports count: they are dependencies too).
// Tests are left out: they may look inside the module they test.
// Usage: node scripts/module-graph.mjs [--json]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const modulesDir = join(src, 'modules');

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The module a file belongs to, or undefined outside src/modules. */
function moduleOf(path) {
  const rel = relative(modulesDir, path);
  return rel.startsWith('..') ? undefined : rel.split(sep)[0];
}

const importPattern = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

const modules = readdirSync(modulesDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
const edges = new Map(); // "a -> b" => count
const pastDoor = []; // "from-file -> to-file"
const schemaRefs = []; // a *.schema.ts importing another module's: GraphQL types refer to each other
for (const file of sourceFiles(src)) {
  const from = moduleOf(file);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier);
    const to = moduleOf(target);
    if (to === undefined || to === from) continue;
    const crossing = `${relative(root, file)} -> ${relative(root, target)}`;
    const isSchemaRef = target.endsWith('.schema.ts') && (file.endsWith('.schema.ts') || file === join(src, 'schema.ts'));
    if (isSchemaRef) schemaRefs.push(crossing);
    else if (relative(join(modulesDir, to), target) !== 'index.ts') pastDoor.push(crossing);
    if (from === undefined) continue;
    const key = `${from} -> ${to}`;
    edges.set(key, (edges.get(key) ?? 0) + 1);
  }
}

// Tarjan's strongly connected components: every component of more than one module is a cycle.
const next = new Map(modules.map((m) => [m, []]));
for (const key of edges.keys()) {
  const [a, b] = key.split(' -> ');
  next.get(a).push(b);
}
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let counter = 0;
function visit(v) {
  index.set(v, counter);
  low.set(v, counter);
  counter += 1;
  stack.push(v);
  onStack.add(v);
  for (const w of next.get(v)) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) !== index.get(v)) return;
  const component = [];
  let w;
  do {
    w = stack.pop();
    onStack.delete(w);
    component.push(w);
  } while (w !== v);
  if (component.length > 1) cycles.push(component.sort());
}
for (const m of modules) if (!index.has(m)) visit(m);

const sortedEdges = [...edges].sort(([a], [b]) => a.localeCompare(b)).map(([edge, imports]) => ({ edge, imports }));
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ modules, edges: sortedEdges, cycles, pastDoor, schemaRefs }, null, 2));
} else {
  console.log(`modules (${modules.length}): ${modules.join(', ')}`);
  console.log(`edges (${sortedEdges.length}):`);
  for (const { edge, imports } of sortedEdges) console.log(`  ${edge}  (${imports})`);
  console.log(`cycles (${cycles.length}):`);
  for (const cycle of cycles) console.log(`  {${cycle.join(', ')}}`);
  console.log(`imports past another module's index.ts: ${pastDoor.length}`);
  for (const crossing of pastDoor) console.log(`  ${crossing}`);
  console.log(`GraphQL type references between *.schema.ts files (allowed): ${schemaRefs.length}`);
}
