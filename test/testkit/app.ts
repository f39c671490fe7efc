import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createTollgateClient, type TollgateClient, type TollgateClientOptions } from '../../client/src/client.ts';
import { buildApp, type App } from '../../src/app.ts';
import { configSchema, type ConfigInput, type InferenceConfigFile } from '../../src/config.ts';
import { randomId } from '../../src/shared/ids.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { assertNoLeaks } from './secrets.ts';

export const testAdminKey = 'test-admin-key-0123456789abcdef';
/** Encrypts stored provider credentials; required with DATABASE_URL, so every test app gets one. */
export const testSecret = 'test-credential-secret-0123456789';

export interface TestAppOptions {
  databaseUrl?: string;
  redisUrl?: string;
  clickhouseUrl?: string;
  inference?: Partial<InferenceConfigFile>;
  config?: Omit<ConfigInput, 'inference'>;
}

export interface TestApp {
  url: string;
  app: App;
  /** Every log line the app wrote, for assertions (and for scanning for leaked secrets). */
  logs: string[];
  /**
   * Secrets the tests handed this app (API key secrets, provider credentials...). stop() fails if any
   * of them, the admin key, the credential secret, or anything shaped like a credential was logged.
   */
  secrets: Set<string>;
  stop(): Promise<void>;
}

/** Starts the real app on a free port with its own data dir; stop() removes both. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const config = configSchema.parse({
    ...options.config,
    server: { port: 0, shutdownGraceMs: 2_000, ...options.config?.server },
    storage: {
      dataDir,
      databaseUrl: options.databaseUrl,
      // An in-memory PGlite starts in a fraction of the time of a fresh one on disk.
      embeddedDatabase: 'memory',
      redisUrl: options.redisUrl,
      clickhouseUrl: options.clickhouseUrl,
      ...options.config?.storage,
    },
    auth: { adminKey: testAdminKey, secret: testSecret, ...options.config?.auth },
    // Test files share one Redis: each app's limiter keys and channels live in a namespace of their own,
    // unless a test gives its instances one to share.
    limits: { keyPrefix: `test:${randomId(10)}:`, ...options.config?.limits },
    logLevel: options.config?.logLevel ?? 'info',
    inference: options.inference ?? {},
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const app = await buildApp(config, createLogger(config.logLevel, sink));
  const { url } = await app.start();
  let stopped = false;
  const secrets = new Set<string>();
  return {
    url,
    app,
    logs,
    secrets,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
      const known = [config.auth.adminKey, config.auth.secret, config.auth.jwtSecret, ...config.auth.previousSecrets, ...secrets];
      assertNoLeaks(logs, known.filter((secret): secret is string => secret !== undefined));
    },
  };
}

export interface GraphqlResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** A plain GraphQL-over-HTTP call, for tests of the transport itself (features use the typed client). */
export async function graphqlRequest<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphqlResult<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphqlResult<T>, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...body };
}

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
export const asAdmin = (tenantId?: string) => ({ ...bearer(testAdminKey), ...(tenantId ? { 'x-tenant-id': tenantId } : {}) });

/** The typed client the frontends use, pointed at a test app: the default way tests call GraphQL. */
export function testClient(url: string, options: Omit<TollgateClientOptions, 'url'> = {}): TollgateClient {
  return createTollgateClient({ url, ...options });
}

export const adminClient = (url: string, tenantId?: string) => testClient(url, { apiKey: testAdminKey, tenantId });
