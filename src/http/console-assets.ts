import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { sendJson } from './respond.ts';

/** Where the console's build lands (npm install and npm start build it). */
export const consoleDistDir = fileURLToPath(new URL('../../console/dist', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

// The console runs only its own scripts and talks only to this origin; no page may frame it.
const securityHeaders = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * GET /console/...: the built files; any other path under /console is a screen of the single-page
 * app and gets index.html. Hashed assets are cached for good, the page itself never.
 */
export async function serveConsoleAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    req.resume();
    sendJson(res, 405, { error: { message: `${req.method} is not allowed on the console's pages`, code: 'METHOD_NOT_ALLOWED' } }, { allow: 'GET, HEAD' });
    return;
  }
  const relative = normalize(decodeURIComponent(path.slice('/console'.length)) || '/');
  const isAsset = relative.startsWith(`${sep}assets${sep}`) || extname(relative) !== '';
  const file = isAsset ? join(consoleDistDir, relative) : join(consoleDistDir, 'index.html');
  if (!file.startsWith(consoleDistDir + sep)) {
    sendJson(res, 404, { error: { message: `no console file at ${path}`, code: 'NOT_FOUND' } });
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    if (isAsset) sendJson(res, 404, { error: { message: `no console file at ${path}`, code: 'NOT_FOUND' } });
    else sendJson(res, 503, { error: { message: 'the console is not built: run `npm install` or `npm run console:build`', code: 'SERVICE_UNAVAILABLE' } });
    return;
  }
  const type = contentTypes[extname(file)] ?? 'application/octet-stream';
  // Text is sent gzipped to browsers that take it: the console's script is a third of its size so.
  const gzip = type.includes('charset') && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, {
    ...securityHeaders,
    'content-type': type,
    ...(gzip ? { 'content-encoding': 'gzip' } : { 'content-length': info.size }),
    vary: 'accept-encoding',
    'cache-control': relative.startsWith(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // pipeline destroys the response if the file cannot be read to the end, so the browser sees it cut.
  if (gzip) pipeline(createReadStream(file), createGzip(), res, () => {});
  else pipeline(createReadStream(file), res, () => {});
}
