import { toTollgateError, TollgateError, type GraphQLErrorShape } from './errors.ts';

interface ExecutionPayload {
  data?: unknown;
  errors?: GraphQLErrorShape[];
}

/**
 * GraphQL over SSE (the gateway's "distinct connections" mode): one POST per operation, answered with
 * `event: next` frames and a final `event: complete`. For clients without WebSockets.
 */
export async function* subscribeOverSse(
  url: string,
  body: { query: string; variables: unknown },
  headers: Record<string, string>,
  signal: AbortSignal,
  doFetch: typeof globalThis.fetch,
): AsyncGenerator<unknown> {
  const response = await doFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body || !response.headers.get('content-type')?.includes('text/event-stream')) {
    const payload = (await response.json().catch(() => ({}))) as ExecutionPayload;
    const [first] = payload.errors ?? [];
    throw first ? toTollgateError(first) : new TollgateError(`the gateway answered ${response.status} to a subscription: ${JSON.stringify(payload)}`, 'INTERNAL_SERVER_ERROR');
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (event === 'complete') return;
        if (!data) continue;
        const payload = JSON.parse(data) as ExecutionPayload;
        const [first] = payload.errors ?? [];
        if (first) throw toTollgateError(first);
        yield payload.data;
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
