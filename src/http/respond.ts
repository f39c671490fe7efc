import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** A body already spelled as JSON (an upstream's answer, relayed). */
export function sendJsonText(res: ServerResponse, status: number, payload: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/**
 * Ends a response that broke after its headers left, so the client sees it cut, but a turn later:
 * node:http holds the chunks written in this turn until the next one, and destroying now drops them.
 */
export function cutResponse(res: ServerResponse): void {
  setImmediate(() => res.destroy());
}
