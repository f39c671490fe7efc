// The authorization matrix: every GraphQL root operation (Query, Mutation and Subscription fields of
// the running schema), the Tenant fields that carry their own rules, and every /v1 route, against every
// point of view. Data only: matrix.test.ts walks it with real requests against a real app, and
// matrix-coverage.test.ts fails when the schema or the /v1 routes and this file disagree.
//
// "A" is the tenant whose objects every request names (its id, its API keys...); "B" is another tenant.
// The walk runs the matrix twice, once with A and B swapped, so tenant A's credentials are also tried on
// tenant B's objects. Another tenant's object is NOT_FOUND, never its data. Operations reserved for the
// platform are FORBIDDEN to every tenant principal, whatever id they name: the answer is the same for
// the caller's own tenant, so it tells nothing about another.

export type Outcome = 'ALLOWED' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';

const OK = 'ALLOWED';
const UNAUTH = 'UNAUTHENTICATED';
const FORBID = 'FORBIDDEN';
const NOTFOUND = 'NOT_FOUND';

/**
 * Who calls. tenantAKey and tenantBKey have the default scopes (INFERENCE and USAGE_READ); tenant A also
 * calls with a key of each single scope. JWTs are HS256 dashboard tokens.
 */
export const viewpoints = {
  anonymous: 'no Authorization header',
  tenantAKey: "tenant A's API key (scopes inference, usage:read)",
  tenantAInferenceKey: "tenant A's API key with the inference scope only",
  tenantAUsageKey: "tenant A's API key with the usage:read scope only",
  tenantAAdminScopeKey: "tenant A's API key with the admin scope only",
  tenantAMember: "tenant A's dashboard user, role member (JWT)",
  tenantAAdmin: "tenant A's dashboard user, role admin (JWT)",
  tenantBKey: "tenant B's API key (scopes inference, usage:read)",
  tenantBAdmin: "tenant B's dashboard user, role admin (JWT)",
  platform: 'the platform admin key, without X-Tenant-ID',
  platformForA: 'the platform admin key with X-Tenant-ID of tenant A',
} as const;

export type Viewpoint = keyof typeof viewpoints;
export type Expectations = Readonly<Record<Viewpoint, Outcome>>;

/** What the walk seeds for each tenant; requests name these through `ref`. */
export interface SeededObjects {
  tenantId: string;
  tenantName: string;
  /** The key behind the tenantAKey viewpoint. */
  apiKeyId: string;
  /** A key looked up and given limits of its own. */
  spareApiKeyId: string;
  /** A key for revokeApiKey (revoking twice is allowed, so every allowed caller revokes it). */
  revocableApiKeyId: string;
  /** A key for rotateApiKey. */
  rotatableApiKeyId: string;
  /** An experiment of the tenant's, read and paused. */
  experimentId: string;
  /** The X-Request-ID of the tenant's seed traffic, for feedback. */
  requestId: string;
  /** The provider key setProviderCredential stores (a secret: it must never come back whole, nor be logged). */
  providerSecret: string;
}

/** A placeholder for one of tenant A's seeded objects, replaced by the walk. */
export interface Ref {
  readonly ref: keyof SeededObjects;
}
const ref = (name: keyof SeededObjects): Ref => ({ ref: name });

/** A value new on every request (e.g. the id of a plan to create), starting with the prefix. */
export interface Fresh {
  readonly fresh: string;
}
const fresh = (prefix: string): Fresh => ({ fresh: prefix });

export type Variables = { readonly [name: string]: unknown };

export interface GraphqlRow {
  surface: 'graphql';
  /** The root type, or Tenant for fields with rules of their own (reached through tenant(id)). */
  type: 'Query' | 'Mutation' | 'Subscription' | 'Tenant';
  field: string;
  document: string;
  variables: Variables;
  expect: Expectations;
}

export interface V1Row {
  surface: 'v1';
  method: 'GET' | 'POST';
  path: string;
  /** Query string, with refs resolved. */
  query?: Variables;
  body?: Variables;
  expect: Expectations;
}

export type MatrixRow = GraphqlRow | V1Row;

/** The configuration the walk starts the app with names these. */
export const fixtures = {
  provider: 'gpu-a',
  chatModel: 'chat-model',
  embeddingModel: 'embed-model',
  range: { from: '2020-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' },
  /** The export reads day by day: three days around now hold the walk's traffic. */
  exportRange: { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 2 * 86_400_000).toISOString() },
  /** A platform template every tenant may run; it stands for {name} in /v1/templates/{name}/run. */
  templateName: 'matrix-template',
} as const;

/**
 * The rows that return usage, quota, cost or billing data: a key without the usage:read scope (or admin)
 * may read none of them. matrix-coverage.test.ts finds every field returning such a type in the schema.
 */
export const usageBearingRows = [
  'Query.platformUsage',
  'Query.usageTopTenants',
  'Tenant.invoicePreview',
  'Tenant.budgets',
  'Tenant.forecast',
  'Tenant.quota',
  'Tenant.rateLimitHeadroom',
  'Tenant.usage',
  'Tenant.usageEvents',
  'Subscription.budgetAlert',
  'Subscription.quotaUpdated',
  'GET /v1/usage',
  'GET /v1/usage/export',
] as const;

/** Return types that carry usage, quota, cost or billing data. */
export const usageBearingTypes = ['Invoice', 'Quota', 'RateHeadroom', 'TenantUsage', 'TenantUsageEventsConnection', 'UsageReport'] as const;

/** Tenant fields without rules of their own: the Query.tenant row reads them. Any other Tenant field needs a row. */
export const tenantFieldsReadByTenantRow = ['createdAt', 'id', 'name', 'plan', 'status'] as const;

const chatInput = { model: fixtures.chatModel, messages: [{ role: 'user', content: 'Who may call this?' }], maxTokens: 4 };
const templateRunInput = { name: fixtures.templateName, variables: { who: 'the matrix' } };

const gql = (type: GraphqlRow['type'], field: string, document: string, variables: Variables, expect: Expectations): GraphqlRow => ({
  surface: 'graphql',
  type,
  field,
  document,
  variables,
  expect,
});

export const matrix: readonly MatrixRow[] = [
  // ---- Query ----
  gql('Query', 'apiKey', 'query($id: ID!) { apiKey(id: $id) { id name tenantId prefix status } }', { id: ref('spareApiKeyId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Query', 'experiment', 'query($id: ID!) { experiment(id: $id) { id tenantId model status variants { name model } } }', { id: ref('experimentId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Query', 'experiments', 'query($tenantId: ID) { experiments(tenantId: $tenantId) { id tenantId model } }', { tenantId: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Query', 'auditLog', 'query($tenantId: ID) { auditLog(tenantId: $tenantId, first: 5) { edges { node { id tenantId actorId action target details } } } }', { tenantId: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Query', 'estimateCost', 'query($input: EstimateCostInput!) { estimateCost(input: $input) { model promptTokens maxTokens cost { amount currency } } }',
    { input: { model: fixtures.chatModel, promptTokens: 10, maxTokens: 10 } },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: OK, platformForA: OK }),
  gql('Query', 'models', '{ models { name servedBy kind } }', {},
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: OK, platformForA: OK }),
  gql('Query', 'promptTemplates', 'query($tenantId: ID) { promptTemplates(tenantId: $tenantId) { id name version } }', { tenantId: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Query', 'promptTemplate', 'query($tenantId: ID, $name: String!) { promptTemplate(tenantId: $tenantId, name: $name) { id name version } }', { tenantId: ref('tenantId'), name: fixtures.templateName },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Query', 'plans', '{ plans { id name monthlyTokens } }', {},
    { anonymous: OK, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: OK, platformForA: OK }),
  gql('Query', 'platformUsage', 'query($range: DateRangeInput!) { platformUsage(range: $range, groupBy: MODEL) { totals { requests totalTokens } buckets { key } } }', { range: fixtures.range },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Query', 'providers', '{ providers { name provider model breaker } }', {},
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Query', 'tenant', 'query($id: ID!) { tenant(id: $id) { id name status createdAt plan { id } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Query', 'tenants', '{ tenants(first: 50) { edges { node { id name } } } }', {},
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Query', 'usageTopTenants', 'query($range: DateRangeInput!) { usageTopTenants(range: $range) { tenantId tenant { name } totals { requests } } }', { range: fixtures.range },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Query', 'viewer', '{ viewer { kind tenantId apiKeyId userId role scopes } }', {},
    { anonymous: OK, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: OK, platformForA: OK }),

  // ---- Tenant fields with rules of their own (id, name, status, createdAt and plan are read by the tenant row) ----
  gql('Tenant', 'apiKeyLimits', 'query($id: ID!) { tenant(id: $id) { apiKeyLimits { apiKeyId requestsPerMinute } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'apiKeys', 'query($id: ID!) { tenant(id: $id) { apiKeys(first: 10) { edges { node { id name prefix } } } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'budgets', 'query($id: ID!) { tenant(id: $id) { budgets { tenantId apiKeyId limit { amount } spent { amount } } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'forecast', 'query($id: ID!) { tenant(id: $id) { forecast(method: TREND) { month projectedTokens quotaCrossingDate } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'inferenceConfig', 'query($id: ID!) { tenant(id: $id) { inferenceConfig { tenantId autoFailover preferredProvider } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'invoicePreview', 'query($id: ID!) { tenant(id: $id) { invoicePreview { tenantId month total { amount currency } lines { model requests } } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'limits', 'query($id: ID!) { tenant(id: $id) { limits { requestsPerMinute tokensPerMinute overridden } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'rateLimitHeadroom', 'query($id: ID!) { tenant(id: $id) { rateLimitHeadroom { requests { limit remaining resetSeconds } tokens { remaining } } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'providerCredentials', 'query($id: ID!) { tenant(id: $id) { providerCredentials { provider configured last4 } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'quota', 'query($id: ID!) { tenant(id: $id) { quota { tenantId used limit state } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'usage', 'query($id: ID!, $range: DateRangeInput!) { tenant(id: $id) { usage(range: $range, groupBy: API_KEY) { totals { requests totalTokens } buckets { key } } } }',
    { id: ref('tenantId'), range: fixtures.range },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Tenant', 'usageEvents', 'query($id: ID!) { tenant(id: $id) { usageEvents(first: 5) { edges { node { id apiKeyId userId requestedModel } } } } }', { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),

  // ---- Mutation ----
  gql('Mutation', 'createApiKey', 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id name tenantId } secret } }',
    { input: { tenantId: ref('tenantId'), name: 'created by the matrix' } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'createChatCompletion', 'mutation($input: ChatCompletionInput!) { createChatCompletion(input: $input) { id model content usage { totalTokens } } }', { input: chatInput },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK }),
  gql('Mutation', 'runPromptTemplate', 'mutation($input: RunPromptTemplateInput!) { runPromptTemplate(input: $input) { id content usage { totalTokens } } }', { input: templateRunInput },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK }),
  gql('Mutation', 'savePromptTemplate', 'mutation($input: SavePromptTemplateInput!) { savePromptTemplate(input: $input) { template { id name version } } }',
    { input: { tenantId: ref('tenantId'), name: 'saved-by-the-matrix', user: 'Hello {{who}}', model: fixtures.chatModel } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'createTenant', 'mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id name } } }', { input: { name: 'Created by the matrix' } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'removeProviderCredential',
    'mutation($tenantId: ID!, $provider: String!) { removeProviderCredential(tenantId: $tenantId, provider: $provider) { removed credential { provider configured last4 } } }',
    { tenantId: ref('tenantId'), provider: fixtures.provider },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'revokeApiKey', 'mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id name tenantId status } } }', { id: ref('revocableApiKeyId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'rotateApiKey', 'mutation($id: ID!) { rotateApiKey(id: $id) { apiKey { id name tenantId } secret } }', { id: ref('rotatableApiKeyId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'setApiKeyLimits',
    'mutation($apiKeyId: ID!, $limits: RateLimitsInput!) { setApiKeyLimits(apiKeyId: $apiKeyId, limits: $limits) { limits { apiKeyId requestsPerMinute } } }',
    { apiKeyId: ref('spareApiKeyId'), limits: { requestsPerMinute: 1000 } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'setBudget', 'mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { tenantId limit { amount } } } }',
    { input: { tenantId: ref('tenantId'), monthlyLimit: '100000.00' } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'removeBudget', 'mutation($tenantId: ID!) { removeBudget(tenantId: $tenantId) { removed } }', { tenantId: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'createExperiment', 'mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id tenantId model } } }',
    { input: { tenantId: ref('tenantId'), model: fresh('experiment'), variants: [{ name: 'a', model: fixtures.chatModel, weight: 1 }, { name: 'b', model: fixtures.chatModel, weight: 1 }] } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'setExperimentStatus', 'mutation($id: ID!) { setExperimentStatus(id: $id, status: PAUSED) { experiment { id tenantId model status } } }', { id: ref('experimentId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'recordFeedback', 'mutation($input: RecordFeedbackInput!) { recordFeedback(input: $input) { feedback { requestId metric value } } }',
    { input: { requestId: ref('requestId'), metric: 'thumbs_up', booleanValue: true } },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: FORBID, platformForA: OK }),
  gql('Mutation', 'setModelPrice', 'mutation($input: SetModelPriceInput!) { setModelPrice(input: $input) { priceVersions { model effectiveFrom } } }',
    { input: { model: fixtures.chatModel, inputPerMillion: '3.00', outputPerMillion: '6.00', currency: 'USD' } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'setProviderCredential',
    'mutation($input: SetProviderCredentialInput!) { setProviderCredential(input: $input) { credential { provider configured last4 } } }',
    { input: { tenantId: ref('tenantId'), provider: fixtures.provider, apiKey: ref('providerSecret') } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'setTenantLimits',
    'mutation($tenantId: ID!, $limits: RateLimitsInput!) { setTenantLimits(tenantId: $tenantId, limits: $limits) { tenant { id name limits { requestsPerMinute } } } }',
    { tenantId: ref('tenantId'), limits: { requestsPerMinute: 1000 } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'setTenantPlan', 'mutation($tenantId: ID!, $plan: String!) { setTenantPlan(tenantId: $tenantId, plan: $plan) { tenant { id name plan { id } } } }',
    { tenantId: ref('tenantId'), plan: 'enterprise' },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  // Suspended and reactivated in one document (run in order), so tenant A is active for the rows after.
  gql('Mutation', 'suspendTenant',
    'mutation($id: ID!) { suspendTenant(id: $id) { tenant { id status } } reactivateTenant(id: $id) { tenant { id status } } }',
    { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'reactivateTenant', 'mutation($id: ID!) { reactivateTenant(id: $id) { tenant { id status } } }',
    { id: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'testProviderCredential',
    'mutation($tenantId: ID!, $provider: String!) { testProviderCredential(tenantId: $tenantId, provider: $provider) { provider ok message } }',
    { tenantId: ref('tenantId'), provider: fixtures.provider },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'updateInferenceConfig',
    'mutation($input: UpdateInferenceConfigInput!) { updateInferenceConfig(input: $input) { inferenceConfig { tenantId autoFailover } } }',
    { input: { tenantId: ref('tenantId'), autoFailover: true } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Mutation', 'createPlan', 'mutation($input: CreatePlanInput!) { createPlan(input: $input) { plan { id } } }',
    { input: { id: fresh('matrix'), name: 'Created by the matrix', currency: 'GBP', monthlyPrice: '1.00', hardQuota: false } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'retirePlan', 'mutation($id: ID!) { retirePlan(id: $id) { plan { id retiredAt } } }', { id: 'matrix-retired' },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'updatePlan', 'mutation($input: UpdatePlanInput!) { updatePlan(input: $input) { plan { id requestsPerMinute } } }',
    { input: { id: 'enterprise', requestsPerMinute: 300 } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: FORBID, tenantAAdmin: FORBID, tenantBKey: FORBID, tenantBAdmin: FORBID, platform: OK, platformForA: OK }),
  gql('Mutation', 'updateTenant', 'mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { tenant { id name } } }',
    { input: { id: ref('tenantId'), name: ref('tenantName') } },
    { anonymous: UNAUTH, tenantAKey: FORBID, tenantAInferenceKey: FORBID, tenantAUsageKey: FORBID, tenantAAdminScopeKey: OK, tenantAMember: FORBID, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),

  // ---- Subscription (over SSE and graphql-ws) ----
  gql('Subscription', 'chatCompletion', 'subscription($input: ChatCompletionInput!) { chatCompletion(input: $input) { delta finishReason } }', { input: chatInput },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK }),
  gql('Subscription', 'promptTemplateRun', 'subscription($input: RunPromptTemplateInput!) { promptTemplateRun(input: $input) { delta finishReason } }', { input: templateRunInput },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK }),
  gql('Subscription', 'budgetAlert', 'subscription($tenantId: ID) { budgetAlert(tenantId: $tenantId) { tenantId threshold spent { amount } } }', { tenantId: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),
  gql('Subscription', 'quotaUpdated', 'subscription($tenantId: ID) { quotaUpdated(tenantId: $tenantId) { tenantId plan used limit threshold } }', { tenantId: ref('tenantId') },
    { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK }),

  // ---- /v1 (the caller's tenant; the platform names one with X-Tenant-ID) ----
  {
    surface: 'v1', method: 'POST', path: '/v1/feedback',
    body: { request_id: ref('requestId'), metric: 'thumbs_up', value: true },
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'POST', path: '/v1/chat/completions',
    body: { model: fixtures.chatModel, messages: [{ role: 'user', content: 'Who may call this?' }], max_tokens: 4 },
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'POST', path: '/v1/templates/{name}/run',
    body: { variables: { who: 'the matrix' } },
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'POST', path: '/v1/completions',
    body: { model: fixtures.chatModel, prompt: 'Who may call this?', max_tokens: 4 },
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'POST', path: '/v1/responses',
    body: { model: fixtures.chatModel, input: 'Who may call this?', max_output_tokens: 4 },
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'POST', path: '/v1/embeddings',
    body: { model: fixtures.embeddingModel, input: 'Who may call this?' },
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'GET', path: '/v1/models',
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'GET', path: `/v1/models/${fixtures.chatModel}`,
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: FORBID, tenantAAdminScopeKey: FORBID, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    surface: 'v1', method: 'GET', path: '/v1/openapi.json',
    expect: { anonymous: OK, tenantAKey: OK, tenantAInferenceKey: OK, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: OK, platformForA: OK },
  },
  {
    surface: 'v1', method: 'GET', path: '/v1/usage',
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: OK, tenantBAdmin: OK, platform: FORBID, platformForA: OK },
  },
  {
    // The platform without X-Tenant-ID names the tenant with ?tenantId=; a tenant's credentials naming another tenant are NOT_FOUND.
    surface: 'v1', method: 'GET', path: '/v1/usage/export',
    query: { tenantId: ref('tenantId'), from: fixtures.exportRange.from, to: fixtures.exportRange.to, format: 'json' },
    expect: { anonymous: UNAUTH, tenantAKey: OK, tenantAInferenceKey: FORBID, tenantAUsageKey: OK, tenantAAdminScopeKey: OK, tenantAMember: OK, tenantAAdmin: OK, tenantBKey: NOTFOUND, tenantBAdmin: NOTFOUND, platform: OK, platformForA: OK },
  },
];

/** The key naming a row, as failures and the coverage test name it: "Query.tenant", "POST /v1/models". */
export const rowName = (row: MatrixRow) => (row.surface === 'graphql' ? `${row.type}.${row.field}` : `${row.method} ${row.path}`);
