import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createDeps, type AppDeps } from './deps.ts';
import { createGraphqlServer } from './http/graphql.ts';
import { createGraphqlWsServer } from './http/graphql-ws.ts';
import { createHttpServer } from './http/server.ts';
import { watchInferenceConfig } from './router/config-reloader.ts';
import type { Logger } from './shared/logger.ts';

export interface App {
  /** Binds the port; resolves with the base URL once it accepts connections. */
  start(): Promise<{ url: string; port: number }>;
  /** Stops accepting, lets in-flight requests and streams finish up to the grace period, then closes pools. */
  stop(): Promise<void>;
  deps: AppDeps;
}

/** The one place that wires dependencies, transports and lifecycle. */
export async function buildApp(config: Config, logger: Logger): Promise<App> {
  const deps = await createDeps(config, logger);
  const yoga = createGraphqlServer(deps);
  const ws = createGraphqlWsServer(deps, yoga, { maxPayloadBytes: config.server.maxBodyBytes, maxSubscriptionsPerSocket: config.server.maxSubscriptionsPerSocket, keepAliveMs: 12_000 });
  deps.telemetry.metrics.bind({ webSockets: () => ws.wss.clients.size });
  let draining = false;
  const server = createHttpServer({ deps, yoga, wss: ws.wss, isDraining: () => draining });

  // The YAML is re-read on SIGHUP and on change; an invalid file is refused and the running config stays.
  const configWatch = config.configPath
    ? watchInferenceConfig(
        config.configPath,
        (file) => deps.reloadInference(file),
        (error) => logger.error({ error: error.message }, 'inference config change refused; the running config stays'),
      )
    : undefined;
  deps.router.startHealthProbes(deps.inference.current().routing.healthCheckIntervalMs);

  let inFlight = 0;
  server.on('request', (_req, res) => {
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
  });

  const waitUntil = async (done: () => boolean, deadline: number) => {
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  };

  return {
    deps,
    start: () =>
      new Promise((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          const where = `${config.server.host}:${config.server.port}`;
          reject(new Error(error.code === 'EADDRINUSE' ? `port ${where} is already in use` : `cannot listen on ${where}: ${error.message}`));
        };
        server.once('error', onError);
        server.listen(config.server.port, config.server.host, () => {
          server.off('error', onError);
          const { port } = server.address() as AddressInfo;
          const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
          resolve({ url: `http://${host}:${port}`, port });
        });
      }),
    stop: async () => {
      draining = true;
      configWatch?.close();
      deps.router.stopHealthProbes();
      const deadline = Date.now() + config.server.shutdownGraceMs;
      const closed = server.listening ? new Promise((resolve) => server.close(resolve)) : Promise.resolve();
      server.closeIdleConnections();
      await waitUntil(() => inFlight === 0, deadline);
      // Live subscriptions finish too, up to the same deadline; then sockets are told the server is going away.
      await waitUntil(() => ws.activeOperations() === 0, deadline);
      for (const client of ws.wss.clients) client.close(1001, 'server shutting down');
      server.closeAllConnections();
      await ws.dispose();
      await closed;
      await deps.close();
    },
  };
}
