import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { newRequestId, saneRequestId } from '../shared/ids.ts';

const ids = new WeakMap<IncomingMessage, string>();

/**
 * A response that adds its request's X-Request-ID when its head is written. Set earlier with setHeader,
 * it would send every writeHead(status, headers) through node's slow path, which copies each header
 * into the response's own map first.
 */
export class RequestIdResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  requestId: string | undefined;

  override writeHead(
    statusCode: number,
    reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    const id = this.requestId;
    if (id === undefined) return super.writeHead(statusCode, reason as string, headers);
    const given = typeof reason === 'string' ? headers : reason;
    if (given === undefined || Array.isArray(given)) {
      this.setHeader('X-Request-ID', id);
      return super.writeHead(statusCode, reason as string, headers);
    }
    const withId = { 'X-Request-ID': id, ...given };
    return typeof reason === 'string' ? super.writeHead(statusCode, reason, withId) : super.writeHead(statusCode, withId);
  }
}

/** Takes the caller's X-Request-ID when it is sane, otherwise mints one; every response carries it. */
export function assignRequestId(req: IncomingMessage, res: RequestIdResponse): string {
  const header = req.headers['x-request-id'];
  const id = saneRequestId(Array.isArray(header) ? header[0] : header) ?? newRequestId();
  ids.set(req, id);
  res.requestId = id;
  return id;
}

export const requestIdOf = (req: IncomingMessage): string | undefined => ids.get(req);

/** True when `id` is the caller's own X-Request-ID, which a retry may send again, rather than one minted here. */
export function callerSentRequestId(req: IncomingMessage, id: string): boolean {
  const header = req.headers['x-request-id'];
  return (Array.isArray(header) ? header[0] : header) === id;
}
