import { describe, expect, it } from 'vitest';
import type { AppDeps } from '../deps.ts';
import type { GraphqlServer } from './graphql.ts';
import { createRouteTable } from './route-table.ts';

// Building the table only reads the secret the console's SSO routes sign with; no handler runs here.
const deps = { config: { auth: { secret: 'route-table-test-secret-0123456789' }, oidc: {} } } as unknown as AppDeps;
const routes = createRouteTable({ deps, yoga: undefined as unknown as GraphqlServer, isDraining: () => false });

describe('the route table', () => {
  it('gives every /v1 route an entry in /v1/openapi.json, so a new one cannot be missed by the docs', () => {
    const v1 = routes.filter((route) => route.path.startsWith('/v1/') && route.path !== '/v1/openapi.json');
    expect(v1.length).toBeGreaterThan(0);
    expect(v1.filter((route) => route.openApi === undefined).map((route) => `${route.method} ${route.path}`)).toEqual([]);
  });
});
