import type { IncomingMessage } from 'node:http';

const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The caller's W3C traceparent when it is well formed; anything else is not passed on. */
export function traceparentOf(req: IncomingMessage): string | undefined {
  const value = req.headers.traceparent;
  return typeof value === 'string' && traceparentPattern.test(value) ? value : undefined;
}
