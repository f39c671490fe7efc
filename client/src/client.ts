import { toTollgateError, TollgateError, type GraphQLErrorShape } from './errors.ts';
import type { TypedDocumentString } from './generated/graphql.ts';

export interface TollgateClientOptions {
  /** Base URL of the gateway, e.g. https://llm.example.com (the client adds /graphql). */
  url: string;
  /** A tenant API key (tg_...), a dashboard JWT, or the platform admin key. */
  apiKey?: string;
  token?: string;
  /** Called before each request, for tokens that refresh. */
  getToken?: () => string | Promise<string>;
  /** For the platform admin acting for a tenant. */
  tenantId?: string;
  fetch?: typeof globalThis.fetch;
}

export interface TollgateClient {
  /** Runs a generated operation and returns its typed data, or throws a TollgateError subclass. */
  execute<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    ...variables: TVariables extends Record<string, never> ? [] : [TVariables]
  ): Promise<TResult>;
  /** The header set the client sends, for transports built on top (WebSocket, SSE). */
  authHeaders(): Promise<Record<string, string>>;
  readonly graphqlUrl: string;
}

export function createTollgateClient(options: TollgateClientOptions): TollgateClient {
  const graphqlUrl = `${options.url.replace(/\/+$/, '')}/graphql`;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);

  const authHeaders = async (): Promise<Record<string, string>> => {
    const secret = options.getToken ? await options.getToken() : (options.token ?? options.apiKey);
    return {
      ...(secret ? { authorization: `Bearer ${secret}` } : {}),
      ...(options.tenantId ? { 'x-tenant-id': options.tenantId } : {}),
    };
  };

  return {
    graphqlUrl,
    authHeaders,
    async execute(document, ...rest) {
      const response = await doFetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(await authHeaders()) },
        body: JSON.stringify({ query: document.toString(), variables: rest[0] ?? {} }),
      });
      let body: { data?: unknown; errors?: GraphQLErrorShape[] };
      try {
        body = (await response.json()) as typeof body;
      } catch {
        throw new TollgateError(`the gateway answered ${response.status} without a GraphQL body`, 'INTERNAL_SERVER_ERROR');
      }
      const [first] = body.errors ?? [];
      if (first) throw toTollgateError(first);
      return body.data as never;
    },
  };
}
