import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Summarises a V8 .cpuprofile (node --cpu-prof, or `npm run bench -- --cpu-prof`): self time by
// function and by package, the heaviest first. Usage: node test/bench/profile-summary.ts <file|dir> [top]

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

const [target = '.', topArg = '40'] = process.argv.slice(2);
const file = statSync(target).isDirectory()
  ? join(target, readdirSync(target).filter((f) => f.endsWith('.cpuprofile') || f.endsWith('.heapprofile')).sort().at(-1) ?? '')
  : target;
const raw = JSON.parse(readFileSync(file, 'utf8')) as Profile | { head: HeapNode };
// A sampling heap profile (node --heap-prof) becomes a profile whose "time" is bytes allocated.
const profile: Profile = 'head' in raw ? fromHeapProfile(raw.head) : raw;

function fromHeapProfile(head: HeapNode): Profile {
  const nodes: ProfileNode[] = [];
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  const visit = (node: HeapNode): number => {
    const id = nodes.length + 1;
    const entry: ProfileNode = { id, callFrame: node.callFrame, children: [] };
    nodes.push(entry);
    if (node.selfSize > 0) {
      samples.push(id);
      timeDeltas.push(node.selfSize);
    }
    for (const child of node.children) entry.children!.push(visit(child));
    return id;
  };
  visit(head);
  return { nodes, samples, timeDeltas };
}
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);

const packageOf = (url: string) => {
  if (url === '') return '(native/v8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  return src === -1 ? url : url.slice(src + 1);
};

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const { callFrame } = byId.get(id)!;
  const where = packageOf(callFrame.url);
  const name = `${callFrame.functionName || '(anonymous)'} ${where}:${callFrame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  byPackage.set(where, (byPackage.get(where) ?? 0) + micros);
}
const show = (title: string, map: Map<string, number>, top: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}\n`);
  }
};
// Total (inclusive) time: a sample counts once for every distinct function on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const nameOf = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${packageOf(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
const inclusive = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const name = nameOf(byId.get(at)!);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
  }
}
process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ${'head' in raw ? 'KB allocated (sampled)' : 'ms sampled'}\n`);
show('Self time by file or package', byPackage, 30);
show('Self time by function', byFunction, Number(topArg));
const ours = new Map([...inclusive].filter(([name]) => / src\//.test(name) && !name.includes('(anonymous)')));
show('Total time by function of ours (callees included)', ours, Number(topArg));
