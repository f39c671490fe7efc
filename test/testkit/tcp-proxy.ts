import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export type ProxyMode =
  /** Forward both ways. */
  | 'pass'
  /** Accept and close at once, as a stopped server's port would; open connections are cut. */
  | 'refuse'
  /** Forward requests but swallow every reply: the server does the work, the client times out. */
  | 'blackhole';

/**
 * A TCP proxy in front of a real server that a test can break and mend, so outage tests never stop
 * the shared servers other test files use at the same time.
 */
export interface TcpProxy {
  /** host:port to connect to instead of the server. */
  readonly port: number;
  /** The server URL with host and port replaced by the proxy's. */
  url(serverUrl: string): string;
  setMode(mode: ProxyMode): void;
  /** Cuts every open connection (clients see a reset), whatever the mode. */
  cutAll(): void;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  const pairs = new Set<[Socket, Socket]>();
  // Resets are the point here: no socket may turn one into an uncaught exception.
  const ignore = () => {};
  const server = createServer((client) => {
    client.on('error', ignore);
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(target);
    upstream.on('error', ignore);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forget = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      if (mode !== 'refuse') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'pass') client.write(chunk);
    });
    client.on('close', forget);
    upstream.on('close', forget);
    client.on('error', forget);
    upstream.on('error', forget);
  });
  server.on('error', ignore);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const cutAll = () => {
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: (serverUrl) => {
      const url = new URL(serverUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    setMode: (next) => {
      mode = next;
      if (next === 'refuse') cutAll();
    },
    cutAll,
    get connections() {
      return pairs.size;
    },
    close: async () => {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
