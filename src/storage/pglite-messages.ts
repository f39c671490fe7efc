// What the gateway's thread and the embedded database's thread say to each other (pglite-thread.ts,
// pglite-worker.ts). Id 0 is the worker's "ready" (or why it could not open the database).

export type PGliteRequest = { id: number } & (
  | { op: 'query'; sql: string; params: readonly unknown[]; tx?: number }
  | { op: 'begin' }
  | { op: 'commit'; tx: number }
  | { op: 'rollback'; tx: number }
  | { op: 'close' }
);

export type PGliteReply = { id: number } & ({ ok: true; value: unknown } | { ok: false; error: Record<string, unknown> });
