import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';

// The benchmark's baseline: the least a Node proxy can do (node:http in, a keep-alive Agent out, bytes
// piped both ways, no parsing). The gateway's figures are read as ratios against this one's.

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, target: { type: 'string' } } });
if (!values.target) throw new Error('--target http://host:port is required');
const target = new URL(values.target);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

const server = createServer((req, res) => {
  const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
  res.on('close', () => !res.writableFinished && upstream.destroy());
  req.pipe(upstream);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  process.stdout.write(`passthrough listening on ${typeof address === 'object' && address ? address.port : values.port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
