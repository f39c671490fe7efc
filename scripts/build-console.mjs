// Builds the web console into console/dist when it is missing or older than its sources. npm install
// (postinstall) and npm start (prestart) run it, so nobody builds by hand. Where dev dependencies were
// left out (npm ci --omit=dev), an existing build is served as it is.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'console/dist/index.html');
const sources = ['console/src', 'console/index.html', 'console/vite.config.ts', 'client/src', 'client/operations'].map((path) => join(root, path));

function newestChange(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

const builtAt = existsSync(built) ? statSync(built).mtimeMs : -1;
const sourcesAt = Math.max(...sources.filter((path) => existsSync(path)).map(newestChange));
if (builtAt >= sourcesAt) process.exit(0);

const vite = join(root, 'node_modules/vite/bin/vite.js');
if (!existsSync(vite)) {
  if (builtAt >= 0) process.exit(0);
  console.error('The console is not built and vite is not installed: run `npm install` (with dev dependencies) to build it.');
  process.exit(process.argv.includes('--optional') ? 0 : 1);
}
console.log('Building the web console...');
// Production React whatever NODE_ENV the caller runs under (vitest sets "test", which builds React's development copy).
const env = { ...process.env, NODE_ENV: 'production' };
const result = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'console/vite.config.ts'), '--logLevel', 'warn'], { stdio: 'inherit', cwd: root, env });
process.exit(result.status ?? 1);
