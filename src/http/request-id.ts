import type { IncomingMessage, ServerResponse } from 'node:http';
import { newRequestId, saneRequestId } from '../shared/ids.ts';

const ids = new WeakMap<IncomingMessage, string>();

/** Takes the caller's X-Request-ID when it is sane, otherwise mints one; every response carries it. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const header = req.headers['x-request-id'];
  const id = saneRequestId(Array.isArray(header) ? header[0] : header) ?? newRequestId();
  ids.set(req, id);
  res.setHeader('X-Request-ID', id);
  return id;
}

export const requestIdOf = (req: IncomingMessage): string | undefined => ids.get(req);

/** True when `id` is the caller's own X-Request-ID, which a retry may send again, rather than one minted here. */
export function callerSentRequestId(req: IncomingMessage, id: string): boolean {
  const header = req.headers['x-request-id'];
  return (Array.isArray(header) ? header[0] : header) === id;
}
