import { createTollgateClient } from '../../client/src/client.ts';

/**
 * The console's one way to the API: the typed client on this origin. It sends no secret; the browser
 * adds the HttpOnly session cookie to GraphQL requests and to the WebSocket upgrade.
 */
export const api = createTollgateClient({ url: window.location.origin });
