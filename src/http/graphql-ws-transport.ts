import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer, type ServerOptions } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../shared/logger.ts';

/**
 * graphql-ws's protocol core over a `ws` server, as graphql-ws's own `useServer` adapter does it, except
 * for how messages are sent: a send is done once its frame is queued (it waits only when the socket's
 * buffer is full), and the frames queued in one event-loop turn leave in one write, as node:http does
 * for an SSE response. The stock adapter waited for each frame's write to complete before the next
 * event was produced, so every chunk of a stream cost a system call of its own.
 */
export function serveGraphqlWs(options: ServerOptions<Record<string, unknown> | undefined, Extra>, wss: WebSocketServer, keepAliveMs: number, logger: Logger) {
  const server = makeServer(options);
  wss.options.handleProtocols = (protocols) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false);
  wss.once('error', (error) => {
    logger.error({ err: error }, 'the WebSocket server failed');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.once('error', (error) => {
      logger.warn({ err: error }, 'a WebSocket connection failed');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    const stopKeepAlive = keepAlive(socket, keepAliveMs);
    const send = turnBatchedSender(socket, request.socket);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              logger.error({ err: error }, 'a graphql-ws message failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      stopKeepAlive();
      closed(code, String(reason)).catch((error: unknown) => logger.error({ err: error }, 'closing a graphql-ws connection failed'));
    });
  });
  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Sends a message without waiting for its write; frames sent in one turn are written together. */
function turnBatchedSender(socket: WebSocket, tcp: Socket) {
  let corked = false;
  const uncork = () => {
    corked = false;
    tcp.uncork();
  };
  return (data: string): Promise<void> | undefined => {
    if (socket.readyState !== socket.OPEN) return undefined;
    if (!corked) {
      corked = true;
      tcp.cork();
      process.nextTick(uncork);
    }
    socket.send(data);
    // A client that reads slower than the stream is written waits for it, as it did before.
    return tcp.writableNeedDrain ? drained(tcp) : undefined;
  };
}

function drained(tcp: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      tcp.off('drain', done);
      tcp.off('close', done);
      resolve();
    };
    tcp.on('drain', done);
    tcp.on('close', done);
  });
}

/** Pings every keepAliveMs and drops a socket whose pong does not come back within the next interval. */
function keepAlive(socket: WebSocket, keepAliveMs: number): () => void {
  let pongWait: NodeJS.Timeout | undefined;
  const onPong = () => {
    clearTimeout(pongWait);
    pongWait = undefined;
  };
  socket.on('pong', onPong);
  const interval = setInterval(() => {
    if (socket.readyState !== socket.OPEN || pongWait !== undefined) return;
    pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
    socket.ping();
  }, keepAliveMs);
  return () => {
    clearInterval(interval);
    clearTimeout(pongWait);
  };
}
