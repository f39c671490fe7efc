import { Worker } from 'node:worker_threads';
import type { PGliteDialectConfig } from 'kysely';
import type { PGliteReply, PGliteRequest } from './pglite-messages.ts';

type PGliteLike = Exclude<PGliteDialectConfig['pglite'], (...args: never[]) => unknown>;
type Request = PGliteRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/**
 * The embedded database in a worker thread (pglite-worker.ts), shaped as the PGlite instance Kysely's
 * PGliteDialect drives: each statement runs off the gateway's event loop, which only posts a message
 * and reads the rows back.
 */
export function startPGliteThread(dataPath: string | undefined): PGliteLike {
  const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData: { dataPath } });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let closed = false;
  let ready = false;

  // Referenced only while a reply is awaited: an idle database must not keep the process alive, and a
  // pending one must (the CLI has nothing else on its event loop).
  const settle = (id: number) => {
    const call = waiting.get(id);
    waiting.delete(id);
    if (waiting.size === 0) worker.unref();
    return call;
  };
  const failAll = (error: Error) => {
    for (const id of [...waiting.keys()]) settle(id)?.reject(error);
  };
  worker.on('message', (message: PGliteReply) => {
    const call = settle(message.id);
    if (message.ok) call?.resolve(message.value);
    else call?.reject(rebuild(message.error));
  });
  worker.on('error', (error) => failAll(new Error(`the embedded database stopped: ${error.message}`, { cause: error })));
  worker.on('exit', () => {
    closed = true;
    failAll(new Error('the embedded database is closed'));
  });

  const call = (request: Request): Promise<unknown> => {
    if (closed) return Promise.reject(new Error('the embedded database is closed'));
    const id = nextId++;
    if (waiting.size === 0) worker.ref();
    const reply = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    worker.postMessage({ ...request, id });
    return reply;
  };
  const waitReady = new Promise((resolve, reject) => waiting.set(0, { resolve, reject })).then(() => {
    ready = true;
  });

  const query = <T>(sql: string, params: readonly unknown[] = [], tx?: number) =>
    call({ op: 'query', sql, params, ...(tx === undefined ? {} : { tx }) }) as Promise<{ rows: T[]; affectedRows?: number; fields: [] }>;

  return {
    get closed() {
      return closed;
    },
    get ready() {
      return ready;
    },
    waitReady,
    query: (sql, params) => query(sql, params),
    async transaction(callback) {
      const tx = (await call({ op: 'begin' })) as number;
      let result;
      try {
        result = await callback({
          query: (sql, params) => query(sql, params, tx),
          rollback: () => call({ op: 'rollback', tx }).then(() => undefined),
        });
      } catch (error) {
        await call({ op: 'rollback', tx });
        throw error;
      }
      await call({ op: 'commit', tx });
      return result;
    },
    async close() {
      if (closed) return;
      try {
        await call({ op: 'close' });
      } finally {
        // Ended even when PGlite could not close cleanly (one that never opened, say).
        closed = true;
        await worker.terminate();
      }
    },
  };
}

/** An Error carrying the Postgres fields the worker sent (code, detail, constraint...). */
function rebuild(fields: Record<string, unknown>): Error {
  const { message, ...rest } = fields;
  return Object.assign(new Error(String(message)), rest);
}
