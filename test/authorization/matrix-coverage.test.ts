import { getNamedType, Kind, parse, validate, type GraphQLObjectType, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { AppDeps } from '../../src/deps.ts';
import type { GraphqlServer } from '../../src/http/graphql.ts';
import { createRouteTable } from '../../src/http/route-table.ts';
import { schema } from '../../src/schema.ts';
import { matrix, rowName, tenantFieldsReadByTenantRow, usageBearingRows, usageBearingTypes, type GraphqlRow, type V1Row } from './matrix.ts';

// The authorization matrix must list exactly what the gateway serves: every root field of the running
// schema, every Tenant field with rules of its own, and every /v1 route. A new operation without a row,
// or a row for an operation that is gone, fails here by name.

const matrixFile = 'test/authorization/matrix.ts';
const graphqlRows = matrix.filter((row): row is GraphqlRow => row.surface === 'graphql');
const v1Rows = matrix.filter((row): row is V1Row => row.surface === 'v1');

const fieldsOf = (type: GraphQLObjectType | null | undefined) => Object.keys(type?.getFields() ?? {}).sort();

const schemaOperations = () => [
  ...fieldsOf(schema.getQueryType()).map((field) => `Query.${field}`),
  ...fieldsOf(schema.getMutationType()).map((field) => `Mutation.${field}`),
  ...fieldsOf(schema.getSubscriptionType()).map((field) => `Subscription.${field}`),
];

/** The /v1 routes of the gateway's route table, each with the pattern its paths match ({id} and {name} stand for any). */
function servedV1Routes(): { name: string; method: string; pattern: RegExp }[] {
  // Building the table only reads the secret the console's SSO routes sign with; no handler runs here.
  const deps = { config: { auth: { secret: 'route-table-coverage-secret-0123456789' }, oidc: {} } } as unknown as AppDeps;
  const routes = createRouteTable({ deps, yoga: undefined as unknown as GraphqlServer, isDraining: () => false });
  return routes
    .filter((route) => route.path.startsWith('/v1/'))
    .map((route) => {
      const path = route.openApiPath ?? route.path;
      const pattern = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '.+')}$`);
      return { name: `${route.method} ${path}`, method: route.method, pattern };
    });
}

describe('authorization matrix coverage', () => {
  it('lists every query, mutation and subscription of the schema, and none that is gone', () => {
    const operations = schemaOperations();
    const listed = graphqlRows.filter((row) => row.type !== 'Tenant').map(rowName);
    const missing = operations.filter((name) => !listed.includes(name));
    const gone = listed.filter((name) => !operations.includes(name));
    expect(
      { missing, gone },
      [
        missing.length ? `${missing.join(', ')}: in the schema but not in the authorization matrix; add a row to ${matrixFile} with the outcome for every point of view` : '',
        gone.length ? `${gone.join(', ')}: in the authorization matrix but no longer in the schema; remove or rename the row in ${matrixFile}` : '',
      ].join(' '),
    ).toEqual({ missing: [], gone: [] });
  });

  it('lists every Tenant field with rules of its own, and none that is gone', () => {
    const fields = fieldsOf(schema.getType('Tenant') as GraphQLObjectType);
    const covered = [...tenantFieldsReadByTenantRow, ...graphqlRows.filter((row) => row.type === 'Tenant').map((row) => row.field)];
    const missing = fields.filter((field) => !covered.includes(field)).map((field) => `Tenant.${field}`);
    const gone = covered.filter((field) => !fields.includes(field)).map((field) => `Tenant.${field}`);
    expect(
      { missing, gone },
      [
        missing.length ? `${missing.join(', ')}: a Tenant field not in the authorization matrix; add a row to ${matrixFile}` : '',
        gone.length ? `${gone.join(', ')}: in the authorization matrix but no longer a Tenant field; update ${matrixFile}` : '',
      ].join(' '),
    ).toEqual({ missing: [], gone: [] });
  });

  it('lists every /v1 route, and none that is gone', () => {
    const routes = servedV1Routes();
    expect(routes.length).toBeGreaterThan(0);
    const serves = (route: (typeof routes)[number], row: V1Row) => route.method === row.method && route.pattern.test(row.path);
    const missing = routes.filter((route) => !v1Rows.some((row) => serves(route, row))).map((route) => route.name);
    const gone = v1Rows.filter((row) => !routes.some((route) => serves(route, row))).map(rowName);
    expect(
      { missing, gone },
      [
        missing.length ? `${missing.join(', ')}: served but not in the authorization matrix; add a row to ${matrixFile}` : '',
        gone.length ? `${gone.join(', ')}: in the authorization matrix but no longer served; update ${matrixFile}` : '',
      ].join(' '),
    ).toEqual({ missing: [], gone: [] });
  });

  it('has one row per operation, each a valid document calling the operation it names', () => {
    const names = matrix.map(rowName);
    expect(names.filter((name, i) => names.indexOf(name) !== i), 'rows listed twice').toEqual([]);
    for (const row of graphqlRows) {
      const document = parse(row.document);
      expect(validate(schema, document).map((error) => error.message), `${rowName(row)}: its document does not validate`).toEqual([]);
      const operation = document.definitions[0] as OperationDefinitionNode;
      const [root] = operation.selectionSet.selections;
      expect(root?.kind === Kind.FIELD ? root.name.value : undefined, rowName(row)).toBe(row.type === 'Tenant' ? 'tenant' : row.field);
      expect(operation.operation, rowName(row)).toBe(row.type === 'Mutation' ? 'mutation' : row.type === 'Subscription' ? 'subscription' : 'query');
      if (row.type === 'Tenant' && root?.kind === Kind.FIELD) {
        expect(root.selectionSet?.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : s.kind)), rowName(row)).toEqual([row.field]);
      }
    }
  });

  it('lists every field returning usage, quota, cost or billing data as usage-bearing, each refused to a key without usage:read', () => {
    const types = new Set<string>(usageBearingTypes);
    // Each usage-bearing type must still exist, or the scan below would find nothing by accident.
    for (const name of types) expect(schema.getType(name), `${name} is gone from the schema; update usageBearingTypes`).toBeDefined();
    const found = ['Query', 'Subscription', 'Tenant'].flatMap((typeName) =>
      Object.values((schema.getType(typeName) as GraphQLObjectType).getFields())
        .filter((field) => types.has(getNamedType(field.type).name))
        .map((field) => `${typeName}.${field.name}`),
    );
    const listed = new Set<string>(usageBearingRows);
    expect(found.filter((name) => !listed.has(name)), 'return usage data but are not in usageBearingRows').toEqual([]);
    for (const name of usageBearingRows) {
      const row = matrix.find((r) => rowName(r) === name);
      expect(row, `${name} has no row in the matrix`).toBeDefined();
      expect(row!.expect.tenantAInferenceKey, `${name} must refuse a key with the inference scope only`).not.toBe('ALLOWED');
      expect(row!.expect.anonymous, `${name} must refuse an anonymous caller`).toBe('UNAUTHENTICATED');
    }
  });
});
