import { setFlagsFromString } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { Transaction } from '@electric-sql/pglite';
import type { PGliteReply, PGliteRequest } from './pglite-messages.ts';

// The embedded database's own thread: PGlite runs its WebAssembly Postgres here, so a statement never
// blocks the gateway's event loop. It answers the requests of pglite-thread.ts, one message each.

if (!parentPort) throw new Error('pglite-worker.ts runs as a worker thread (see pglite-thread.ts)');
const port = parentPort;

interface OpenTransaction {
  tx: Transaction;
  /** Resolves to end the transaction: commit, or rollback when rejected. */
  end: { commit(): void; rollback(error: Error): void };
  settled: Promise<unknown>;
}

const { dataPath } = workerData as { dataPath: string | undefined };
const transactions = new Map<number, OpenTransaction>();
let nextTransaction = 1;
const reply = (message: PGliteReply) => port.postMessage(message);

// V8's optimising compiler would hold some 400 MB of machine code for Postgres's hot paths; its baseline
// compiler's code is small and fast enough for a database that serves one node. The flags are the
// process's (later WebAssembly compiles, such as undici's HTTP parser, stay baseline too) and must be set
// before PGlite's module is compiled, so PGlite is imported after them.
setFlagsFromString('--no-wasm-tier-up');
setFlagsFromString('--no-wasm-dynamic-tiering');
const { PGlite } = await import('@electric-sql/pglite');
const pglite = new PGlite(dataPath, {
  parsers: { 20: (value: string) => Number(value) },
  // Small buffers: the host's page cache keeps the files' hot pages anyway, and this memory is the
  // gateway's own.
  postgresqlconf: ['shared_buffers=8MB', 'work_mem=2MB', 'maintenance_work_mem=8MB', 'temp_buffers=2MB', 'wal_buffers=512kB'],
});
pglite.waitReady.then(
  () => reply({ id: 0, ok: true, value: null }),
  (error: unknown) => reply({ id: 0, ok: false, error: describe(error) }),
);

port.on('message', (request: PGliteRequest) => {
  answer(request).then(
    (value) => reply({ id: request.id, ok: true, value }),
    (error: unknown) => reply({ id: request.id, ok: false, error: describe(error) }),
  );
});

async function answer(request: PGliteRequest): Promise<unknown> {
  switch (request.op) {
    case 'query': {
      const on = request.tx === undefined ? pglite : opened(request.tx).tx;
      const { rows, affectedRows } = await on.query(request.sql, [...request.params], { rowMode: 'object' });
      return { rows, affectedRows };
    }
    case 'begin':
      return begin();
    case 'commit': {
      const open = opened(request.tx);
      transactions.delete(request.tx);
      open.end.commit();
      await open.settled;
      return null;
    }
    case 'rollback': {
      const open = opened(request.tx);
      transactions.delete(request.tx);
      open.end.rollback(new Error('rolled back'));
      await open.settled.catch(() => undefined);
      return null;
    }
    case 'close':
      await pglite.close();
      setImmediate(() => port.close());
      return null;
  }
}

/** Opens a PGlite transaction that stays open until a commit or rollback message ends it. */
function begin(): Promise<number> {
  const id = nextTransaction++;
  return new Promise<number>((begun, failed) => {
    const open = {} as OpenTransaction;
    const ended = new Promise<void>((commit, rollback) => (open.end = { commit, rollback }));
    open.settled = pglite.transaction(async (tx) => {
      open.tx = tx;
      transactions.set(id, open);
      begun(id);
      await ended;
    });
    open.settled.catch(failed);
  });
}

function opened(id: number): OpenTransaction {
  const open = transactions.get(id);
  if (!open) throw new Error(`transaction ${id} is not open in the embedded database`);
  return open;
}

/** The error's message and its Postgres fields (code, detail, constraint...), which a clone would lose. */
function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields: Record<string, unknown> = { message: error.message };
  for (const [key, value] of Object.entries(error)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'object') continue;
    fields[key] = value;
  }
  return fields;
}
