#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=16 --heap-growing-percent=25 --disable-warning=ExperimentalWarning
// Plain JavaScript, so that it runs before any TypeScript loads: with Node's compile cache on, every
// start after the first reads the gateway's modules already stripped of their types and never loads
// the stripper, which would otherwise stay resident for the life of the process.
import { enableCompileCache } from 'node:module';
import process from 'node:process';

const { directory } = enableCompileCache();
// Worker threads (the embedded database's) take the cache from the environment.
if (directory && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = directory;
await import('../src/bin/tollgate.ts');
