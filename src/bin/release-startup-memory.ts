import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GarbageCollect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * One full collection that gives memory back, once the gateway has started. Loading modules, running
 * migrations and building the schema grow the young generation to its limit and leave the old one
 * fragmented; V8 keeps that size until a memory-reducing collection, which an idle gateway may not
 * see for a long time. The collector is reached the way `--expose-gc` exposes it, in a context of
 * its own, so nothing else in the process sees it.
 */
export function releaseStartupMemory(): void {
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as GarbageCollect;
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
