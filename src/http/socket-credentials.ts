import type { Context } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import { credentialsFromConnectionParams } from './credentials.ts';
import { isSameOrigin, sessionTokenOf } from './session-cookie.ts';

/** One graphql-ws socket, as graphql-ws hands it to every hook. */
export type SocketContext = Context<Record<string, unknown> | undefined, Extra>;

/** A socket's credentials: its connectionParams, and the console's session cookie sent with the upgrade. */
export const socketCredentials = (ctx: SocketContext) => ({
  ...credentialsFromConnectionParams(ctx.connectionParams),
  // Another site's page may open a socket here; only this origin's pages get to use the cookie.
  sessionToken: isSameOrigin(ctx.extra.request) ? sessionTokenOf(ctx.extra.request.headers.cookie) : undefined,
});
