import type { IncomingHttpHeaders } from 'node:http';
import type { Credentials } from '../modules/identity/index.ts';
import { sessionTokenOf } from './session-cookie.ts';

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function credentialsFromHeaders(headers: IncomingHttpHeaders): Credentials {
  return {
    authorization: first(headers.authorization),
    tenantId: first(headers['x-tenant-id']),
    userId: first(headers['x-user-id']),
  };
}

/** GraphQL's credentials: the headers', and the console's session cookie. */
export function graphqlCredentials(headers: IncomingHttpHeaders): Credentials {
  return { ...credentialsFromHeaders(headers), sessionToken: sessionTokenOf(headers.cookie) };
}

/** graphql-ws clients send credentials in connectionParams, with header-like names in any case. */
export function credentialsFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): Credentials {
  const lookup = (name: string): string | undefined => {
    for (const [key, value] of Object.entries(params ?? {})) {
      if (key.toLowerCase() === name && typeof value === 'string') return value;
    }
    return undefined;
  };
  return { authorization: lookup('authorization'), tenantId: lookup('x-tenant-id'), userId: lookup('x-user-id') };
}
