/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment ApiKeyFields on ApiKey {\n  id\n  prefix\n  name\n  tenantId\n  scopes\n  status\n  createdAt\n  expiresAt\n  revokedAt\n  lastUsedAt\n  previousSecretValidUntil\n}\n\nquery TenantApiKeys($tenantId: ID!, $first: Int, $after: String) {\n  tenant(id: $tenantId) {\n    id\n    apiKeys(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApiKeyFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nquery ApiKey($id: ID!) {\n  apiKey(id: $id) {\n    ...ApiKeyFields\n  }\n}\n\nmutation CreateApiKey($input: CreateApiKeyInput!) {\n  createApiKey(input: $input) {\n    apiKey {\n      ...ApiKeyFields\n    }\n    secret\n  }\n}\n\nmutation RevokeApiKey($id: ID!) {\n  revokeApiKey(id: $id) {\n    apiKey {\n      ...ApiKeyFields\n    }\n  }\n}\n\nmutation RotateApiKey($id: ID!, $gracePeriodSeconds: Int) {\n  rotateApiKey(id: $id, gracePeriodSeconds: $gracePeriodSeconds) {\n    apiKey {\n      ...ApiKeyFields\n    }\n    secret\n  }\n}": typeof types.ApiKeyFieldsFragmentDoc,
    "query Plans {\n  plans {\n    id\n    name\n    currency\n    monthlyPrice\n    monthlyTokens\n    requestsPerMinute\n    tokensPerMinute\n    requestsPerHour\n    requestsPerMonth\n    hardQuota\n    overagePerMillion\n  }\n}": typeof types.PlansDocument,
    "query Tenants($first: Int, $after: String) {\n  tenants(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        id\n        name\n        status\n        createdAt\n        plan {\n          id\n          name\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Tenant($id: ID!) {\n  tenant(id: $id) {\n    id\n    name\n    status\n    createdAt\n    plan {\n      id\n      name\n      monthlyTokens\n    }\n  }\n}\n\nmutation CreateTenant($input: CreateTenantInput!) {\n  createTenant(input: $input) {\n    tenant {\n      id\n      name\n      plan {\n        id\n      }\n    }\n  }\n}\n\nmutation UpdateTenant($input: UpdateTenantInput!) {\n  updateTenant(input: $input) {\n    tenant {\n      id\n      name\n    }\n  }\n}\n\nmutation SetTenantPlan($tenantId: ID!, $plan: String!) {\n  setTenantPlan(tenantId: $tenantId, plan: $plan) {\n    tenant {\n      id\n      plan {\n        id\n      }\n    }\n  }\n}": typeof types.TenantsDocument,
    "query Viewer {\n  viewer {\n    kind\n    tenantId\n    userId\n    apiKeyId\n    role\n    scopes\n  }\n}": typeof types.ViewerDocument,
};
const documents: Documents = {
    "fragment ApiKeyFields on ApiKey {\n  id\n  prefix\n  name\n  tenantId\n  scopes\n  status\n  createdAt\n  expiresAt\n  revokedAt\n  lastUsedAt\n  previousSecretValidUntil\n}\n\nquery TenantApiKeys($tenantId: ID!, $first: Int, $after: String) {\n  tenant(id: $tenantId) {\n    id\n    apiKeys(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApiKeyFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nquery ApiKey($id: ID!) {\n  apiKey(id: $id) {\n    ...ApiKeyFields\n  }\n}\n\nmutation CreateApiKey($input: CreateApiKeyInput!) {\n  createApiKey(input: $input) {\n    apiKey {\n      ...ApiKeyFields\n    }\n    secret\n  }\n}\n\nmutation RevokeApiKey($id: ID!) {\n  revokeApiKey(id: $id) {\n    apiKey {\n      ...ApiKeyFields\n    }\n  }\n}\n\nmutation RotateApiKey($id: ID!, $gracePeriodSeconds: Int) {\n  rotateApiKey(id: $id, gracePeriodSeconds: $gracePeriodSeconds) {\n    apiKey {\n      ...ApiKeyFields\n    }\n    secret\n  }\n}": types.ApiKeyFieldsFragmentDoc,
    "query Plans {\n  plans {\n    id\n    name\n    currency\n    monthlyPrice\n    monthlyTokens\n    requestsPerMinute\n    tokensPerMinute\n    requestsPerHour\n    requestsPerMonth\n    hardQuota\n    overagePerMillion\n  }\n}": types.PlansDocument,
    "query Tenants($first: Int, $after: String) {\n  tenants(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        id\n        name\n        status\n        createdAt\n        plan {\n          id\n          name\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Tenant($id: ID!) {\n  tenant(id: $id) {\n    id\n    name\n    status\n    createdAt\n    plan {\n      id\n      name\n      monthlyTokens\n    }\n  }\n}\n\nmutation CreateTenant($input: CreateTenantInput!) {\n  createTenant(input: $input) {\n    tenant {\n      id\n      name\n      plan {\n        id\n      }\n    }\n  }\n}\n\nmutation UpdateTenant($input: UpdateTenantInput!) {\n  updateTenant(input: $input) {\n    tenant {\n      id\n      name\n    }\n  }\n}\n\nmutation SetTenantPlan($tenantId: ID!, $plan: String!) {\n  setTenantPlan(tenantId: $tenantId, plan: $plan) {\n    tenant {\n      id\n      plan {\n        id\n      }\n    }\n  }\n}": types.TenantsDocument,
    "query Viewer {\n  viewer {\n    kind\n    tenantId\n    userId\n    apiKeyId\n    role\n    scopes\n  }\n}": types.ViewerDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment ApiKeyFields on ApiKey {\n  id\n  prefix\n  name\n  tenantId\n  scopes\n  status\n  createdAt\n  expiresAt\n  revokedAt\n  lastUsedAt\n  previousSecretValidUntil\n}\n\nquery TenantApiKeys($tenantId: ID!, $first: Int, $after: String) {\n  tenant(id: $tenantId) {\n    id\n    apiKeys(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApiKeyFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nquery ApiKey($id: ID!) {\n  apiKey(id: $id) {\n    ...ApiKeyFields\n  }\n}\n\nmutation CreateApiKey($input: CreateApiKeyInput!) {\n  createApiKey(input: $input) {\n    apiKey {\n      ...ApiKeyFields\n    }\n    secret\n  }\n}\n\nmutation RevokeApiKey($id: ID!) {\n  revokeApiKey(id: $id) {\n    apiKey {\n      ...ApiKeyFields\n    }\n  }\n}\n\nmutation RotateApiKey($id: ID!, $gracePeriodSeconds: Int) {\n  rotateApiKey(id: $id, gracePeriodSeconds: $gracePeriodSeconds) {\n    apiKey {\n      ...ApiKeyFields\n    }\n    secret\n  }\n}"): typeof import('./graphql.js').ApiKeyFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Plans {\n  plans {\n    id\n    name\n    currency\n    monthlyPrice\n    monthlyTokens\n    requestsPerMinute\n    tokensPerMinute\n    requestsPerHour\n    requestsPerMonth\n    hardQuota\n    overagePerMillion\n  }\n}"): typeof import('./graphql.js').PlansDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Tenants($first: Int, $after: String) {\n  tenants(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        id\n        name\n        status\n        createdAt\n        plan {\n          id\n          name\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Tenant($id: ID!) {\n  tenant(id: $id) {\n    id\n    name\n    status\n    createdAt\n    plan {\n      id\n      name\n      monthlyTokens\n    }\n  }\n}\n\nmutation CreateTenant($input: CreateTenantInput!) {\n  createTenant(input: $input) {\n    tenant {\n      id\n      name\n      plan {\n        id\n      }\n    }\n  }\n}\n\nmutation UpdateTenant($input: UpdateTenantInput!) {\n  updateTenant(input: $input) {\n    tenant {\n      id\n      name\n    }\n  }\n}\n\nmutation SetTenantPlan($tenantId: ID!, $plan: String!) {\n  setTenantPlan(tenantId: $tenantId, plan: $plan) {\n    tenant {\n      id\n      plan {\n        id\n      }\n    }\n  }\n}"): typeof import('./graphql.js').TenantsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Viewer {\n  viewer {\n    kind\n    tenantId\n    userId\n    apiKeyId\n    role\n    scopes\n  }\n}"): typeof import('./graphql.js').ViewerDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
