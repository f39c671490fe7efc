/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** What an API key may do. */
export type ApiKeyScope =
  /** Manage the tenant's API keys and configuration. */
  | 'ADMIN'
  /** Call models: /v1 and the completion operations. */
  | 'INFERENCE'
  /** Read the tenant's usage and quota. */
  | 'USAGE_READ';

export type ApiKeyStatus =
  | 'ACTIVE'
  | 'EXPIRED'
  | 'REVOKED';

export type BreakerState =
  | 'CLOSED'
  | 'HALF_OPEN'
  | 'OPEN';

export type ChatCompletionInput = {
  /** Serve an identical earlier answer (temperature 0 only); overrides the tenant's setting. */
  cache?: boolean | null | undefined;
  maxTokens?: number | null | undefined;
  messages: Array<ChatMessageInput>;
  model: string;
  /** { type: "json_object" } or { type: "json_schema", json_schema: { name, schema } }. */
  responseFormat?: unknown;
  temperature?: number | null | undefined;
  /** none, auto, required, or { type: "function", function: { name } }. */
  toolChoice?: unknown;
  /** Tools the model may call, in OpenAI's shape ({ type: "function", function: { name, description, parameters } }). */
  tools?: Array<unknown> | null | undefined;
};

export type ChatMessageInput = {
  /** The text; may be left out when parts or tool calls carry the message. */
  content?: string | null | undefined;
  /** The content as parts (text and images), instead of content. */
  parts?: Array<ContentPartInput> | null | undefined;
  /** system, user, assistant or tool */
  role: string;
  /** The call a tool message answers. */
  toolCallId?: string | null | undefined;
  /** The tool calls of an assistant message. */
  toolCalls?: Array<ToolCallInput> | null | undefined;
};

/** One part of a message's content: text, or an image. */
export type ContentPartInput = {
  imageUrl?: ImageUrlInput | null | undefined;
  text?: string | null | undefined;
  /** text or image_url */
  type: string;
};

export type CreateApiKeyInput = {
  /** When the key stops working; never when absent. */
  expiresAt?: string | null | undefined;
  /** What the key is for, 1 to 200 characters. */
  name: string;
  /** Default: INFERENCE and USAGE_READ. */
  scopes?: Array<ApiKeyScope> | null | undefined;
  tenantId: string | number;
};

/** A null or omitted cap is no cap; a plan with none is unlimited. */
export type CreatePlanInput = {
  concurrentRequests?: number | null | undefined;
  /** ISO 4217 code. */
  currency: string;
  /** True: refuse requests past monthlyTokens. False: bill them as overage. */
  hardQuota: boolean;
  /** Lowercase letters, digits and dashes, e.g. "team-2027". */
  id: string | number;
  /** Decimal string, e.g. "39.00". */
  monthlyPrice: string;
  /** Tokens included each month; null: unlimited. */
  monthlyTokens?: number | null | undefined;
  name: string;
  /** One rate for every overage token; or give overageTiers. Default "0.00". */
  overagePerMillion?: string | null | undefined;
  /** Graduated tiers over the tokens beyond the included ones. */
  overageTiers?: Array<PriceTierInput> | null | undefined;
  requestsPerHour?: number | null | undefined;
  requestsPerMinute?: number | null | undefined;
  requestsPerMonth?: number | null | undefined;
  tokensPerMinute?: number | null | undefined;
};

export type CreateTenantInput = {
  name: string;
  /** Plan id: free (default), starter, pro or enterprise. */
  plan?: string | null | undefined;
};

/** A half-open interval [from, to) in UTC. */
export type DateRangeInput = {
  from: string;
  to: string;
};

export type EstimateCostInput = {
  maxTokens?: number | null | undefined;
  /** The chat messages to count; or give promptTokens. */
  messages?: Array<ChatMessageInput> | null | undefined;
  model: string;
  promptTokens?: number | null | undefined;
};

export type FunctionCallInput = {
  /** A JSON string. */
  arguments: string;
  name: string;
};

export type ImageUrlInput = {
  /** low, high or auto */
  detail?: string | null | undefined;
  /** An http(s) URL or a data: URL (base64). */
  url: string;
};

export type ModelOverrideInput = {
  /** The name clients ask for (any name, e.g. an alias). */
  model: string;
  /** A configured model. */
  target: string;
};

export type PriceTierInput = {
  /** Decimal string per million tokens, at most 6 decimals. */
  perMillion: string;
  /** The tier's upper bound in tokens beyond the included ones; null (omitted) in the last tier. */
  upToTokens?: number | null | undefined;
};

export type QuotaState =
  /** All the monthly tokens (or requests) used: refused on a hard quota, billed as overage on a soft one. */
  | 'EXCEEDED'
  /** Under 80% of the monthly tokens. */
  | 'OK'
  /** 80% of the monthly tokens used, or more. */
  | 'WARNING';

/** Each value replaces the plan's (1 or more); null or absent keeps the plan's. */
export type RateLimitsInput = {
  concurrentRequests?: number | null | undefined;
  requestsPerMinute?: number | null | undefined;
  tokensPerMinute?: number | null | undefined;
};

export type RunPromptTemplateInput = {
  /** Serve an identical earlier answer (temperature 0 only); overrides the tenant's setting. */
  cache?: boolean | null | undefined;
  name: string;
  /** An object with a string, number or boolean for each variable the template uses, and no others. */
  variables?: unknown;
  /** Pin a version; omitted: the latest. */
  version?: number | null | undefined;
};

export type SavePromptTemplateInput = {
  /** A model or route name. */
  model: string;
  name: string;
  /** Default request fields in OpenAI spelling, e.g. { "temperature": 0, "max_tokens": 200 }. */
  parameters?: unknown;
  /** The system message, with {{variables}}. */
  system?: string | null | undefined;
  /** The tenant whose template it is; omitted: the caller's tenant, or for the platform admin a platform template. */
  tenantId?: string | number | null | undefined;
  /** The user message, with {{variables}}. */
  user: string;
};

export type SetProviderCredentialInput = {
  /** Stored encrypted; never returned. */
  apiKey: string;
  /** A provider of the gateway configuration. */
  provider: string;
  tenantId: string | number;
};

/** A tool call an earlier assistant message made, sent back in the history. */
export type ToolCallInput = {
  function: FunctionCallInput;
  id: string;
  /** function */
  type: string;
};

/** Omitted fields keep their value; null puts a field back to its default. */
export type UpdateInferenceConfigInput = {
  /** Configured models or overridden names; null allows every configured model. */
  allowedModels?: Array<string> | null | undefined;
  autoFailover?: boolean | null | undefined;
  cacheEnabled?: boolean | null | undefined;
  /** Replaces the whole list. */
  modelOverrides?: Array<ModelOverrideInput> | null | undefined;
  /** A configured provider, or null for no preference. */
  preferredProvider?: string | null | undefined;
  tenantId: string | number;
};

/** Omitted fields stay as they are; null clears a cap (monthlyTokens, requestsPerMinute, tokensPerMinute, requestsPerHour, requestsPerMonth, concurrentRequests). A price field makes a new price version from priceEffectiveFrom (default now): usage served before it keeps its price. */
export type UpdatePlanInput = {
  concurrentRequests?: number | null | undefined;
  /** ISO 4217 code. */
  currency?: string | null | undefined;
  hardQuota?: boolean | null | undefined;
  id: string | number;
  /** Decimal string, e.g. "39.00". */
  monthlyPrice?: string | null | undefined;
  monthlyTokens?: number | null | undefined;
  name?: string | null | undefined;
  /** Decimal string per million tokens over the monthly tokens (one tier). */
  overagePerMillion?: string | null | undefined;
  overageTiers?: Array<PriceTierInput> | null | undefined;
  /** When the new price takes effect: now (default) or later, never earlier. */
  priceEffectiveFrom?: string | null | undefined;
  requestsPerHour?: number | null | undefined;
  requestsPerMinute?: number | null | undefined;
  requestsPerMonth?: number | null | undefined;
  tokensPerMinute?: number | null | undefined;
};

export type UpdateTenantInput = {
  id: string | number;
  name: string;
};

/** Each list, when given, keeps only events whose value is in it (a single value may be passed for a list). */
export type UsageFilter = {
  apiKeyIds?: Array<string | number> | null | undefined;
  /** Requested model names. */
  models?: Array<string> | null | undefined;
  providers?: Array<string> | null | undefined;
  statuses?: Array<UsageStatus> | null | undefined;
  userIds?: Array<string> | null | undefined;
};

/** How a usage report splits its range: by UTC hour, day or month (every bucket listed, empty ones as zeros), or by a dimension. */
export type UsageGroupBy =
  | 'API_KEY'
  | 'DAY'
  | 'HOUR'
  /** The model the client asked for. */
  | 'MODEL'
  | 'MONTH'
  | 'PROVIDER'
  | 'USER';

export type UsageKind =
  | 'CHAT'
  | 'COMPLETION'
  | 'EMBEDDING';

export type UsageRankBy =
  | 'COST'
  | 'REQUESTS'
  | 'TOKENS';

export type UsageStatus =
  /** The client went away mid-request; tokens streamed until then are counted. */
  | 'CANCELLED'
  /** The upstream or the gateway failed. */
  | 'ERROR'
  | 'OK'
  /** Refused by a rate limit or quota before reaching a model. */
  | 'REFUSED';

export type ViewerKind =
  | 'ANONYMOUS'
  | 'API_KEY'
  | 'PLATFORM_ADMIN'
  | 'USER';

export type ApiKeyFieldsFragment = { id: string, prefix: string, name: string, tenantId: string, scopes: Array<ApiKeyScope>, status: ApiKeyStatus, createdAt: string, expiresAt: string | null, revokedAt: string | null, lastUsedAt: string | null, previousSecretValidUntil: string | null };

export type TenantApiKeysQueryVariables = Exact<{
  tenantId: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type TenantApiKeysQuery = { tenant: { id: string, apiKeys: { edges: Array<{ cursor: string, node: { id: string, prefix: string, name: string, tenantId: string, scopes: Array<ApiKeyScope>, status: ApiKeyStatus, createdAt: string, expiresAt: string | null, revokedAt: string | null, lastUsedAt: string | null, previousSecretValidUntil: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } } | null };

export type ApiKeyQueryVariables = Exact<{
  id: string | number;
}>;


export type ApiKeyQuery = { apiKey: { id: string, prefix: string, name: string, tenantId: string, scopes: Array<ApiKeyScope>, status: ApiKeyStatus, createdAt: string, expiresAt: string | null, revokedAt: string | null, lastUsedAt: string | null, previousSecretValidUntil: string | null } | null };

export type CreateApiKeyMutationVariables = Exact<{
  input: CreateApiKeyInput;
}>;


export type CreateApiKeyMutation = { createApiKey: { secret: string, apiKey: { id: string, prefix: string, name: string, tenantId: string, scopes: Array<ApiKeyScope>, status: ApiKeyStatus, createdAt: string, expiresAt: string | null, revokedAt: string | null, lastUsedAt: string | null, previousSecretValidUntil: string | null } } };

export type RevokeApiKeyMutationVariables = Exact<{
  id: string | number;
}>;


export type RevokeApiKeyMutation = { revokeApiKey: { apiKey: { id: string, prefix: string, name: string, tenantId: string, scopes: Array<ApiKeyScope>, status: ApiKeyStatus, createdAt: string, expiresAt: string | null, revokedAt: string | null, lastUsedAt: string | null, previousSecretValidUntil: string | null } } };

export type RotateApiKeyMutationVariables = Exact<{
  id: string | number;
  gracePeriodSeconds?: number | null | undefined;
}>;


export type RotateApiKeyMutation = { rotateApiKey: { secret: string, apiKey: { id: string, prefix: string, name: string, tenantId: string, scopes: Array<ApiKeyScope>, status: ApiKeyStatus, createdAt: string, expiresAt: string | null, revokedAt: string | null, lastUsedAt: string | null, previousSecretValidUntil: string | null } } };

export type AuditLogQueryVariables = Exact<{
  tenantId?: string | number | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type AuditLogQuery = { auditLog: { edges: Array<{ cursor: string, node: { id: string, at: string, tenantId: string | null, actorType: string, actorId: string, action: string, target: string | null, details: string, requestId: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type CreateChatCompletionMutationVariables = Exact<{
  input: ChatCompletionInput;
}>;


export type CreateChatCompletionMutation = { createChatCompletion: { id: string, model: string, content: string, finishReason: string | null, reasoning: string | null, toolCalls: Array<{ index: number, id: string | null, type: string | null, function: { name: string | null, arguments: string | null } | null }> | null, usage: { promptTokens: number, completionTokens: number, totalTokens: number, estimated: boolean } } };

export type ChatCompletionSubscriptionVariables = Exact<{
  input: ChatCompletionInput;
}>;


export type ChatCompletionSubscription = { chatCompletion: { delta: string, reasoning: string | null, finishReason: string | null, toolCalls: Array<{ index: number, id: string | null, type: string | null, function: { name: string | null, arguments: string | null } | null }> | null, usage: { promptTokens: number, completionTokens: number, totalTokens: number, estimated: boolean } | null } };

export type TenantInferenceConfigQueryVariables = Exact<{
  tenantId: string | number;
}>;


export type TenantInferenceConfigQuery = { tenant: { id: string, inferenceConfig: { tenantId: string, preferredProvider: string | null, autoFailover: boolean, allowedModels: Array<string> | null, cacheEnabled: boolean, updatedAt: string | null, modelOverrides: Array<{ model: string, target: string }> }, providerCredentials: Array<{ provider: string, configured: boolean, last4: string | null, updatedAt: string | null }> } | null };

export type UpdateInferenceConfigMutationVariables = Exact<{
  input: UpdateInferenceConfigInput;
}>;


export type UpdateInferenceConfigMutation = { updateInferenceConfig: { inferenceConfig: { tenantId: string, preferredProvider: string | null, autoFailover: boolean, allowedModels: Array<string> | null, cacheEnabled: boolean, updatedAt: string | null, modelOverrides: Array<{ model: string, target: string }> } } };

export type SetProviderCredentialMutationVariables = Exact<{
  input: SetProviderCredentialInput;
}>;


export type SetProviderCredentialMutation = { setProviderCredential: { credential: { provider: string, configured: boolean, last4: string | null, updatedAt: string | null } } };

export type RemoveProviderCredentialMutationVariables = Exact<{
  tenantId: string | number;
  provider: string;
}>;


export type RemoveProviderCredentialMutation = { removeProviderCredential: { removed: boolean, credential: { provider: string, configured: boolean, last4: string | null, updatedAt: string | null } } };

export type TestProviderCredentialMutationVariables = Exact<{
  tenantId: string | number;
  provider: string;
}>;


export type TestProviderCredentialMutation = { testProviderCredential: { provider: string, ok: boolean, message: string, latencyMs: number } };

export type ModelsQueryVariables = Exact<{ [key: string]: never; }>;


export type ModelsQuery = { models: Array<{ name: string, servedBy: string, kind: string, contextWindow: number | null, available: boolean, price: { inputPerMillion: string, outputPerMillion: string, currency: string } | null }> };

export type ProvidersQueryVariables = Exact<{ [key: string]: never; }>;


export type ProvidersQuery = { providers: Array<{ name: string, provider: string, model: string, servesModels: Array<string>, healthy: boolean | null, lastCheckedAt: string | null, lastError: string | null, breaker: BreakerState, consecutiveFailures: number, inflight: number, latencyMs: number | null, retryAfterUntil: string | null }> };

export type PlanFieldsFragment = { id: string, name: string, currency: string, monthlyPrice: string, monthlyTokens: number | null, requestsPerMinute: number | null, tokensPerMinute: number | null, requestsPerHour: number | null, requestsPerMonth: number | null, concurrentRequests: number | null, hardQuota: boolean, overagePerMillion: string, unlimited: boolean, retiredAt: string | null, overageTiers: Array<{ upToTokens: number | null, perMillion: string }> };

export type PlansQueryVariables = Exact<{ [key: string]: never; }>;


export type PlansQuery = { plans: Array<{ id: string, name: string, currency: string, monthlyPrice: string, monthlyTokens: number | null, requestsPerMinute: number | null, tokensPerMinute: number | null, requestsPerHour: number | null, requestsPerMonth: number | null, concurrentRequests: number | null, hardQuota: boolean, overagePerMillion: string, unlimited: boolean, retiredAt: string | null, overageTiers: Array<{ upToTokens: number | null, perMillion: string }> }> };

export type AllPlansQueryVariables = Exact<{ [key: string]: never; }>;


export type AllPlansQuery = { plans: Array<{ id: string, name: string, currency: string, monthlyPrice: string, monthlyTokens: number | null, requestsPerMinute: number | null, tokensPerMinute: number | null, requestsPerHour: number | null, requestsPerMonth: number | null, concurrentRequests: number | null, hardQuota: boolean, overagePerMillion: string, unlimited: boolean, retiredAt: string | null, overageTiers: Array<{ upToTokens: number | null, perMillion: string }> }> };

export type PlanPriceHistoryQueryVariables = Exact<{ [key: string]: never; }>;


export type PlanPriceHistoryQuery = { plans: Array<{ id: string, priceVersions: Array<{ effectiveFrom: string, currency: string, monthlyPrice: string, overageTiers: Array<{ upToTokens: number | null, perMillion: string }> }> }> };

export type CreatePlanMutationVariables = Exact<{
  input: CreatePlanInput;
}>;


export type CreatePlanMutation = { createPlan: { plan: { id: string, name: string, currency: string, monthlyPrice: string, monthlyTokens: number | null, requestsPerMinute: number | null, tokensPerMinute: number | null, requestsPerHour: number | null, requestsPerMonth: number | null, concurrentRequests: number | null, hardQuota: boolean, overagePerMillion: string, unlimited: boolean, retiredAt: string | null, overageTiers: Array<{ upToTokens: number | null, perMillion: string }> } } };

export type UpdatePlanMutationVariables = Exact<{
  input: UpdatePlanInput;
}>;


export type UpdatePlanMutation = { updatePlan: { plan: { id: string, name: string, currency: string, monthlyPrice: string, monthlyTokens: number | null, requestsPerMinute: number | null, tokensPerMinute: number | null, requestsPerHour: number | null, requestsPerMonth: number | null, concurrentRequests: number | null, hardQuota: boolean, overagePerMillion: string, unlimited: boolean, retiredAt: string | null, overageTiers: Array<{ upToTokens: number | null, perMillion: string }> } } };

export type RetirePlanMutationVariables = Exact<{
  id: string | number;
}>;


export type RetirePlanMutation = { retirePlan: { plan: { id: string, name: string, currency: string, monthlyPrice: string, monthlyTokens: number | null, requestsPerMinute: number | null, tokensPerMinute: number | null, requestsPerHour: number | null, requestsPerMonth: number | null, concurrentRequests: number | null, hardQuota: boolean, overagePerMillion: string, unlimited: boolean, retiredAt: string | null, overageTiers: Array<{ upToTokens: number | null, perMillion: string }> } } };

export type PromptTemplateFieldsFragment = { id: string, tenantId: string | null, name: string, version: number, system: string | null, user: string, model: string, parameters: unknown, variables: Array<string>, createdAt: string };

export type SavePromptTemplateMutationVariables = Exact<{
  input: SavePromptTemplateInput;
}>;


export type SavePromptTemplateMutation = { savePromptTemplate: { template: { id: string, tenantId: string | null, name: string, version: number, system: string | null, user: string, model: string, parameters: unknown, variables: Array<string>, createdAt: string } } };

export type PromptTemplatesQueryVariables = Exact<{
  tenantId?: string | number | null | undefined;
}>;


export type PromptTemplatesQuery = { promptTemplates: Array<{ id: string, tenantId: string | null, name: string, version: number, system: string | null, user: string, model: string, parameters: unknown, variables: Array<string>, createdAt: string }> };

export type PromptTemplateQueryVariables = Exact<{
  name: string;
  version?: number | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type PromptTemplateQuery = { promptTemplate: { id: string, tenantId: string | null, name: string, version: number, system: string | null, user: string, model: string, parameters: unknown, variables: Array<string>, createdAt: string, versions: Array<{ version: number, createdAt: string }> } };

export type RunPromptTemplateMutationVariables = Exact<{
  input: RunPromptTemplateInput;
}>;


export type RunPromptTemplateMutation = { runPromptTemplate: { id: string, model: string, content: string, finishReason: string | null, usage: { promptTokens: number, completionTokens: number, totalTokens: number, estimated: boolean } } };

export type TenantQuotaQueryVariables = Exact<{
  id: string | number;
}>;


export type TenantQuotaQuery = { tenant: { id: string, quota: { tenantId: string, period: string, periodStart: string, periodEnd: string, limit: number, used: number, remaining: number, overage: number, state: QuotaState, hardQuota: boolean, requests: number, requestLimit: number | null, plan: string } } | null };

export type TenantLimitsQueryVariables = Exact<{
  id: string | number;
}>;


export type TenantLimitsQuery = { tenant: { id: string, limits: { requestsPerMinute: number | null, tokensPerMinute: number | null, concurrentRequests: number | null, requestsPerHour: number | null, requestsPerMonth: number | null, monthlyTokens: number | null, hardQuota: boolean, overridden: Array<string> }, rateLimitHeadroom: { requests: { limit: number, remaining: number, resetSeconds: number } | null, tokens: { limit: number, remaining: number, resetSeconds: number } | null } | null, apiKeyLimits: Array<{ apiKeyId: string, requestsPerMinute: number | null, tokensPerMinute: number | null, concurrentRequests: number | null, updatedAt: string }> } | null };

export type SetTenantLimitsMutationVariables = Exact<{
  tenantId: string | number;
  limits: RateLimitsInput;
}>;


export type SetTenantLimitsMutation = { setTenantLimits: { tenant: { id: string, limits: { requestsPerMinute: number | null, tokensPerMinute: number | null, concurrentRequests: number | null, overridden: Array<string> } } } };

export type SetApiKeyLimitsMutationVariables = Exact<{
  apiKeyId: string | number;
  limits: RateLimitsInput;
}>;


export type SetApiKeyLimitsMutation = { setApiKeyLimits: { limits: { apiKeyId: string, requestsPerMinute: number | null, tokensPerMinute: number | null, concurrentRequests: number | null } } };

export type QuotaUpdatedSubscriptionVariables = Exact<{
  tenantId?: string | number | null | undefined;
}>;


export type QuotaUpdatedSubscription = { quotaUpdated: { tenantId: string, period: string, limit: number, used: number, remaining: number, overage: number, state: QuotaState, hardQuota: boolean, threshold: number | null } };

export type EstimateCostQueryVariables = Exact<{
  input: EstimateCostInput;
}>;


export type EstimateCostQuery = { estimateCost: { model: string, promptTokens: number, maxTokens: number, priced: boolean, cost: { amount: string, amountMicros: string, currency: string } } };

export type InvoicePreviewQueryVariables = Exact<{
  id: string | number;
  month?: string | null | undefined;
}>;


export type InvoicePreviewQuery = { tenant: { id: string, invoicePreview: { tenantId: string, month: string, periodStart: string, periodEnd: string, final: boolean, asOf: string, currency: string, includedTokens: number | null, usedTokens: number, overageTokens: number, planPeriods: Array<{ from: string, to: string, days: number, plan: { id: string, name: string }, baseFee: { amount: string, currency: string } }>, baseFee: { amount: string, amountMicros: string, currency: string }, overageRatePerMillion: { amount: string, currency: string }, overageCharge: { amount: string, amountMicros: string, currency: string }, total: { amount: string, amountMicros: string, currency: string }, lines: Array<{ model: string, requests: number, promptTokens: number, completionTokens: number, totalTokens: number, priceBookValue: Array<{ amount: string, currency: string }>, costBasis: { amount: string, currency: string } | null, margin: { amount: string, currency: string } | null }> } } | null };

export type TenantsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type TenantsQuery = { tenants: { edges: Array<{ cursor: string, node: { id: string, name: string, status: string, createdAt: string, plan: { id: string, name: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type TenantQueryVariables = Exact<{
  id: string | number;
}>;


export type TenantQuery = { tenant: { id: string, name: string, status: string, createdAt: string, plan: { id: string, name: string, monthlyTokens: number | null } } | null };

export type CreateTenantMutationVariables = Exact<{
  input: CreateTenantInput;
}>;


export type CreateTenantMutation = { createTenant: { tenant: { id: string, name: string, plan: { id: string } } } };

export type UpdateTenantMutationVariables = Exact<{
  input: UpdateTenantInput;
}>;


export type UpdateTenantMutation = { updateTenant: { tenant: { id: string, name: string } } };

export type SetTenantPlanMutationVariables = Exact<{
  tenantId: string | number;
  plan: string;
}>;


export type SetTenantPlanMutation = { setTenantPlan: { tenant: { id: string, plan: { id: string } } } };

export type UsageTotalsFieldsFragment = { requests: number, promptTokens: number, completionTokens: number, totalTokens: number, errors: number, refused: number, cancelled: number, cacheHits: number, cacheHitRate: number, estimatedRequests: number, cost: { amount: string, currency: string } | null, costs: Array<{ amount: string, amountMicros: string, currency: string }>, latency: { avgMs: number, p50Ms: number, p95Ms: number } | null };

export type TenantUsageQueryVariables = Exact<{
  tenantId: string | number;
  range: DateRangeInput;
  groupBy?: UsageGroupBy | null | undefined;
  filter?: UsageFilter | null | undefined;
}>;


export type TenantUsageQuery = { tenant: { id: string, usage: { groupBy: UsageGroupBy | null, range: { from: string, to: string }, totals: { requests: number, promptTokens: number, completionTokens: number, totalTokens: number, errors: number, refused: number, cancelled: number, cacheHits: number, cacheHitRate: number, estimatedRequests: number, cost: { amount: string, currency: string } | null, costs: Array<{ amount: string, amountMicros: string, currency: string }>, latency: { avgMs: number, p50Ms: number, p95Ms: number } | null }, buckets: Array<{ key: string | null, start: string | null, end: string | null, totals: { requests: number, promptTokens: number, completionTokens: number, totalTokens: number, errors: number, refused: number, cancelled: number, cacheHits: number, cacheHitRate: number, estimatedRequests: number, cost: { amount: string, currency: string } | null, costs: Array<{ amount: string, amountMicros: string, currency: string }>, latency: { avgMs: number, p50Ms: number, p95Ms: number } | null } }> } } | null };

export type TenantUsageTotalsQueryVariables = Exact<{
  tenantId: string | number;
  range: DateRangeInput;
  filter?: UsageFilter | null | undefined;
}>;


export type TenantUsageTotalsQuery = { tenant: { id: string, usage: { totals: { requests: number, promptTokens: number, completionTokens: number, totalTokens: number, cost: { amount: string, currency: string } | null } } } | null };

export type TenantUsageEventsQueryVariables = Exact<{
  tenantId: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: UsageFilter | null | undefined;
  range?: DateRangeInput | null | undefined;
}>;


export type TenantUsageEventsQuery = { tenant: { id: string, usageEvents: { edges: Array<{ cursor: string, node: { id: string, requestId: string, timestamp: string, userId: string | null, apiKeyId: string | null, requestedModel: string, servedModel: string | null, provider: string | null, deployment: string | null, kind: UsageKind, promptTokens: number, completionTokens: number, totalTokens: number, tokensEstimated: boolean, ttftMs: number | null, latencyMs: number, status: UsageStatus, errorCode: string | null, cacheHit: boolean, templateName: string | null, templateVersion: number | null, node: string, cost: { amount: string, currency: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } } | null };

export type UsageTopTenantsQueryVariables = Exact<{
  range: DateRangeInput;
  by?: UsageRankBy | null | undefined;
  currency?: string | null | undefined;
  first?: number | null | undefined;
}>;


export type UsageTopTenantsQuery = { usageTopTenants: Array<{ tenantId: string, tenant: { id: string, name: string } | null, totals: { requests: number, totalTokens: number, cost: { amount: string, currency: string } | null, costs: Array<{ amount: string, currency: string }> } }> };

export type PlatformUsageQueryVariables = Exact<{
  range: DateRangeInput;
  groupBy?: UsageGroupBy | null | undefined;
  filter?: UsageFilter | null | undefined;
}>;


export type PlatformUsageQuery = { platformUsage: { totals: { requests: number, promptTokens: number, completionTokens: number, totalTokens: number, errors: number, refused: number, cancelled: number, cacheHits: number, cacheHitRate: number, estimatedRequests: number, cost: { amount: string, currency: string } | null, costs: Array<{ amount: string, amountMicros: string, currency: string }>, latency: { avgMs: number, p50Ms: number, p95Ms: number } | null }, buckets: Array<{ key: string | null, start: string | null, end: string | null, totals: { requests: number, totalTokens: number, cost: { amount: string, currency: string } | null } }> } };

export type TenantCacheSavingsQueryVariables = Exact<{
  tenantId: string | number;
  range: DateRangeInput;
  filter?: UsageFilter | null | undefined;
}>;


export type TenantCacheSavingsQuery = { tenant: { id: string, usage: { cache: { hits: number, hitRate: number, tokensSaved: number } } } | null };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { kind: ViewerKind, tenantId: string | null, userId: string | null, apiKeyId: string | null, role: string | null, scopes: Array<string> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ApiKeyFieldsFragmentDoc = new TypedDocumentString(`
    fragment ApiKeyFields on ApiKey {
  id
  prefix
  name
  tenantId
  scopes
  status
  createdAt
  expiresAt
  revokedAt
  lastUsedAt
  previousSecretValidUntil
}
    `, {"fragmentName":"ApiKeyFields"}) as unknown as TypedDocumentString<ApiKeyFieldsFragment, unknown>;
export const PlanFieldsFragmentDoc = new TypedDocumentString(`
    fragment PlanFields on Plan {
  id
  name
  currency
  monthlyPrice
  monthlyTokens
  requestsPerMinute
  tokensPerMinute
  requestsPerHour
  requestsPerMonth
  concurrentRequests
  hardQuota
  overagePerMillion
  overageTiers {
    upToTokens
    perMillion
  }
  unlimited
  retiredAt
}
    `, {"fragmentName":"PlanFields"}) as unknown as TypedDocumentString<PlanFieldsFragment, unknown>;
export const PromptTemplateFieldsFragmentDoc = new TypedDocumentString(`
    fragment PromptTemplateFields on PromptTemplate {
  id
  tenantId
  name
  version
  system
  user
  model
  parameters
  variables
  createdAt
}
    `, {"fragmentName":"PromptTemplateFields"}) as unknown as TypedDocumentString<PromptTemplateFieldsFragment, unknown>;
export const UsageTotalsFieldsFragmentDoc = new TypedDocumentString(`
    fragment UsageTotalsFields on UsageTotals {
  requests
  promptTokens
  completionTokens
  totalTokens
  errors
  refused
  cancelled
  cacheHits
  cacheHitRate
  estimatedRequests
  cost {
    amount
    currency
  }
  costs {
    amount
    amountMicros
    currency
  }
  latency {
    avgMs
    p50Ms
    p95Ms
  }
}
    `, {"fragmentName":"UsageTotalsFields"}) as unknown as TypedDocumentString<UsageTotalsFieldsFragment, unknown>;
export const TenantApiKeysDocument = new TypedDocumentString(`
    query TenantApiKeys($tenantId: ID!, $first: Int, $after: String) {
  tenant(id: $tenantId) {
    id
    apiKeys(first: $first, after: $after) {
      edges {
        cursor
        node {
          ...ApiKeyFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
}
    fragment ApiKeyFields on ApiKey {
  id
  prefix
  name
  tenantId
  scopes
  status
  createdAt
  expiresAt
  revokedAt
  lastUsedAt
  previousSecretValidUntil
}`) as unknown as TypedDocumentString<TenantApiKeysQuery, TenantApiKeysQueryVariables>;
export const ApiKeyDocument = new TypedDocumentString(`
    query ApiKey($id: ID!) {
  apiKey(id: $id) {
    ...ApiKeyFields
  }
}
    fragment ApiKeyFields on ApiKey {
  id
  prefix
  name
  tenantId
  scopes
  status
  createdAt
  expiresAt
  revokedAt
  lastUsedAt
  previousSecretValidUntil
}`) as unknown as TypedDocumentString<ApiKeyQuery, ApiKeyQueryVariables>;
export const CreateApiKeyDocument = new TypedDocumentString(`
    mutation CreateApiKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    apiKey {
      ...ApiKeyFields
    }
    secret
  }
}
    fragment ApiKeyFields on ApiKey {
  id
  prefix
  name
  tenantId
  scopes
  status
  createdAt
  expiresAt
  revokedAt
  lastUsedAt
  previousSecretValidUntil
}`) as unknown as TypedDocumentString<CreateApiKeyMutation, CreateApiKeyMutationVariables>;
export const RevokeApiKeyDocument = new TypedDocumentString(`
    mutation RevokeApiKey($id: ID!) {
  revokeApiKey(id: $id) {
    apiKey {
      ...ApiKeyFields
    }
  }
}
    fragment ApiKeyFields on ApiKey {
  id
  prefix
  name
  tenantId
  scopes
  status
  createdAt
  expiresAt
  revokedAt
  lastUsedAt
  previousSecretValidUntil
}`) as unknown as TypedDocumentString<RevokeApiKeyMutation, RevokeApiKeyMutationVariables>;
export const RotateApiKeyDocument = new TypedDocumentString(`
    mutation RotateApiKey($id: ID!, $gracePeriodSeconds: Int) {
  rotateApiKey(id: $id, gracePeriodSeconds: $gracePeriodSeconds) {
    apiKey {
      ...ApiKeyFields
    }
    secret
  }
}
    fragment ApiKeyFields on ApiKey {
  id
  prefix
  name
  tenantId
  scopes
  status
  createdAt
  expiresAt
  revokedAt
  lastUsedAt
  previousSecretValidUntil
}`) as unknown as TypedDocumentString<RotateApiKeyMutation, RotateApiKeyMutationVariables>;
export const AuditLogDocument = new TypedDocumentString(`
    query AuditLog($tenantId: ID, $first: Int, $after: String) {
  auditLog(tenantId: $tenantId, first: $first, after: $after) {
    edges {
      cursor
      node {
        id
        at
        tenantId
        actorType
        actorId
        action
        target
        details
        requestId
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `) as unknown as TypedDocumentString<AuditLogQuery, AuditLogQueryVariables>;
export const CreateChatCompletionDocument = new TypedDocumentString(`
    mutation CreateChatCompletion($input: ChatCompletionInput!) {
  createChatCompletion(input: $input) {
    id
    model
    content
    finishReason
    toolCalls {
      index
      id
      type
      function {
        name
        arguments
      }
    }
    reasoning
    usage {
      promptTokens
      completionTokens
      totalTokens
      estimated
    }
  }
}
    `) as unknown as TypedDocumentString<CreateChatCompletionMutation, CreateChatCompletionMutationVariables>;
export const ChatCompletionDocument = new TypedDocumentString(`
    subscription ChatCompletion($input: ChatCompletionInput!) {
  chatCompletion(input: $input) {
    delta
    toolCalls {
      index
      id
      type
      function {
        name
        arguments
      }
    }
    reasoning
    finishReason
    usage {
      promptTokens
      completionTokens
      totalTokens
      estimated
    }
  }
}
    `) as unknown as TypedDocumentString<ChatCompletionSubscription, ChatCompletionSubscriptionVariables>;
export const TenantInferenceConfigDocument = new TypedDocumentString(`
    query TenantInferenceConfig($tenantId: ID!) {
  tenant(id: $tenantId) {
    id
    inferenceConfig {
      tenantId
      preferredProvider
      autoFailover
      modelOverrides {
        model
        target
      }
      allowedModels
      cacheEnabled
      updatedAt
    }
    providerCredentials {
      provider
      configured
      last4
      updatedAt
    }
  }
}
    `) as unknown as TypedDocumentString<TenantInferenceConfigQuery, TenantInferenceConfigQueryVariables>;
export const UpdateInferenceConfigDocument = new TypedDocumentString(`
    mutation UpdateInferenceConfig($input: UpdateInferenceConfigInput!) {
  updateInferenceConfig(input: $input) {
    inferenceConfig {
      tenantId
      preferredProvider
      autoFailover
      modelOverrides {
        model
        target
      }
      allowedModels
      cacheEnabled
      updatedAt
    }
  }
}
    `) as unknown as TypedDocumentString<UpdateInferenceConfigMutation, UpdateInferenceConfigMutationVariables>;
export const SetProviderCredentialDocument = new TypedDocumentString(`
    mutation SetProviderCredential($input: SetProviderCredentialInput!) {
  setProviderCredential(input: $input) {
    credential {
      provider
      configured
      last4
      updatedAt
    }
  }
}
    `) as unknown as TypedDocumentString<SetProviderCredentialMutation, SetProviderCredentialMutationVariables>;
export const RemoveProviderCredentialDocument = new TypedDocumentString(`
    mutation RemoveProviderCredential($tenantId: ID!, $provider: String!) {
  removeProviderCredential(tenantId: $tenantId, provider: $provider) {
    removed
    credential {
      provider
      configured
      last4
      updatedAt
    }
  }
}
    `) as unknown as TypedDocumentString<RemoveProviderCredentialMutation, RemoveProviderCredentialMutationVariables>;
export const TestProviderCredentialDocument = new TypedDocumentString(`
    mutation TestProviderCredential($tenantId: ID!, $provider: String!) {
  testProviderCredential(tenantId: $tenantId, provider: $provider) {
    provider
    ok
    message
    latencyMs
  }
}
    `) as unknown as TypedDocumentString<TestProviderCredentialMutation, TestProviderCredentialMutationVariables>;
export const ModelsDocument = new TypedDocumentString(`
    query Models {
  models {
    name
    servedBy
    kind
    contextWindow
    available
    price {
      inputPerMillion
      outputPerMillion
      currency
    }
  }
}
    `) as unknown as TypedDocumentString<ModelsQuery, ModelsQueryVariables>;
export const ProvidersDocument = new TypedDocumentString(`
    query Providers {
  providers {
    name
    provider
    model
    servesModels
    healthy
    lastCheckedAt
    lastError
    breaker
    consecutiveFailures
    inflight
    latencyMs
    retryAfterUntil
  }
}
    `) as unknown as TypedDocumentString<ProvidersQuery, ProvidersQueryVariables>;
export const PlansDocument = new TypedDocumentString(`
    query Plans {
  plans {
    ...PlanFields
  }
}
    fragment PlanFields on Plan {
  id
  name
  currency
  monthlyPrice
  monthlyTokens
  requestsPerMinute
  tokensPerMinute
  requestsPerHour
  requestsPerMonth
  concurrentRequests
  hardQuota
  overagePerMillion
  overageTiers {
    upToTokens
    perMillion
  }
  unlimited
  retiredAt
}`) as unknown as TypedDocumentString<PlansQuery, PlansQueryVariables>;
export const AllPlansDocument = new TypedDocumentString(`
    query AllPlans {
  plans(includeRetired: true) {
    ...PlanFields
  }
}
    fragment PlanFields on Plan {
  id
  name
  currency
  monthlyPrice
  monthlyTokens
  requestsPerMinute
  tokensPerMinute
  requestsPerHour
  requestsPerMonth
  concurrentRequests
  hardQuota
  overagePerMillion
  overageTiers {
    upToTokens
    perMillion
  }
  unlimited
  retiredAt
}`) as unknown as TypedDocumentString<AllPlansQuery, AllPlansQueryVariables>;
export const PlanPriceHistoryDocument = new TypedDocumentString(`
    query PlanPriceHistory {
  plans(includeRetired: true) {
    id
    priceVersions {
      effectiveFrom
      currency
      monthlyPrice
      overageTiers {
        upToTokens
        perMillion
      }
    }
  }
}
    `) as unknown as TypedDocumentString<PlanPriceHistoryQuery, PlanPriceHistoryQueryVariables>;
export const CreatePlanDocument = new TypedDocumentString(`
    mutation CreatePlan($input: CreatePlanInput!) {
  createPlan(input: $input) {
    plan {
      ...PlanFields
    }
  }
}
    fragment PlanFields on Plan {
  id
  name
  currency
  monthlyPrice
  monthlyTokens
  requestsPerMinute
  tokensPerMinute
  requestsPerHour
  requestsPerMonth
  concurrentRequests
  hardQuota
  overagePerMillion
  overageTiers {
    upToTokens
    perMillion
  }
  unlimited
  retiredAt
}`) as unknown as TypedDocumentString<CreatePlanMutation, CreatePlanMutationVariables>;
export const UpdatePlanDocument = new TypedDocumentString(`
    mutation UpdatePlan($input: UpdatePlanInput!) {
  updatePlan(input: $input) {
    plan {
      ...PlanFields
    }
  }
}
    fragment PlanFields on Plan {
  id
  name
  currency
  monthlyPrice
  monthlyTokens
  requestsPerMinute
  tokensPerMinute
  requestsPerHour
  requestsPerMonth
  concurrentRequests
  hardQuota
  overagePerMillion
  overageTiers {
    upToTokens
    perMillion
  }
  unlimited
  retiredAt
}`) as unknown as TypedDocumentString<UpdatePlanMutation, UpdatePlanMutationVariables>;
export const RetirePlanDocument = new TypedDocumentString(`
    mutation RetirePlan($id: ID!) {
  retirePlan(id: $id) {
    plan {
      ...PlanFields
    }
  }
}
    fragment PlanFields on Plan {
  id
  name
  currency
  monthlyPrice
  monthlyTokens
  requestsPerMinute
  tokensPerMinute
  requestsPerHour
  requestsPerMonth
  concurrentRequests
  hardQuota
  overagePerMillion
  overageTiers {
    upToTokens
    perMillion
  }
  unlimited
  retiredAt
}`) as unknown as TypedDocumentString<RetirePlanMutation, RetirePlanMutationVariables>;
export const SavePromptTemplateDocument = new TypedDocumentString(`
    mutation SavePromptTemplate($input: SavePromptTemplateInput!) {
  savePromptTemplate(input: $input) {
    template {
      ...PromptTemplateFields
    }
  }
}
    fragment PromptTemplateFields on PromptTemplate {
  id
  tenantId
  name
  version
  system
  user
  model
  parameters
  variables
  createdAt
}`) as unknown as TypedDocumentString<SavePromptTemplateMutation, SavePromptTemplateMutationVariables>;
export const PromptTemplatesDocument = new TypedDocumentString(`
    query PromptTemplates($tenantId: ID) {
  promptTemplates(tenantId: $tenantId) {
    ...PromptTemplateFields
  }
}
    fragment PromptTemplateFields on PromptTemplate {
  id
  tenantId
  name
  version
  system
  user
  model
  parameters
  variables
  createdAt
}`) as unknown as TypedDocumentString<PromptTemplatesQuery, PromptTemplatesQueryVariables>;
export const PromptTemplateDocument = new TypedDocumentString(`
    query PromptTemplate($name: String!, $version: Int, $tenantId: ID) {
  promptTemplate(name: $name, version: $version, tenantId: $tenantId) {
    ...PromptTemplateFields
    versions {
      version
      createdAt
    }
  }
}
    fragment PromptTemplateFields on PromptTemplate {
  id
  tenantId
  name
  version
  system
  user
  model
  parameters
  variables
  createdAt
}`) as unknown as TypedDocumentString<PromptTemplateQuery, PromptTemplateQueryVariables>;
export const RunPromptTemplateDocument = new TypedDocumentString(`
    mutation RunPromptTemplate($input: RunPromptTemplateInput!) {
  runPromptTemplate(input: $input) {
    id
    model
    content
    finishReason
    usage {
      promptTokens
      completionTokens
      totalTokens
      estimated
    }
  }
}
    `) as unknown as TypedDocumentString<RunPromptTemplateMutation, RunPromptTemplateMutationVariables>;
export const TenantQuotaDocument = new TypedDocumentString(`
    query TenantQuota($id: ID!) {
  tenant(id: $id) {
    id
    quota {
      tenantId
      period
      periodStart
      periodEnd
      limit
      used
      remaining
      overage
      state
      hardQuota
      requests
      requestLimit
      plan
    }
  }
}
    `) as unknown as TypedDocumentString<TenantQuotaQuery, TenantQuotaQueryVariables>;
export const TenantLimitsDocument = new TypedDocumentString(`
    query TenantLimits($id: ID!) {
  tenant(id: $id) {
    id
    limits {
      requestsPerMinute
      tokensPerMinute
      concurrentRequests
      requestsPerHour
      requestsPerMonth
      monthlyTokens
      hardQuota
      overridden
    }
    rateLimitHeadroom {
      requests {
        limit
        remaining
        resetSeconds
      }
      tokens {
        limit
        remaining
        resetSeconds
      }
    }
    apiKeyLimits {
      apiKeyId
      requestsPerMinute
      tokensPerMinute
      concurrentRequests
      updatedAt
    }
  }
}
    `) as unknown as TypedDocumentString<TenantLimitsQuery, TenantLimitsQueryVariables>;
export const SetTenantLimitsDocument = new TypedDocumentString(`
    mutation SetTenantLimits($tenantId: ID!, $limits: RateLimitsInput!) {
  setTenantLimits(tenantId: $tenantId, limits: $limits) {
    tenant {
      id
      limits {
        requestsPerMinute
        tokensPerMinute
        concurrentRequests
        overridden
      }
    }
  }
}
    `) as unknown as TypedDocumentString<SetTenantLimitsMutation, SetTenantLimitsMutationVariables>;
export const SetApiKeyLimitsDocument = new TypedDocumentString(`
    mutation SetApiKeyLimits($apiKeyId: ID!, $limits: RateLimitsInput!) {
  setApiKeyLimits(apiKeyId: $apiKeyId, limits: $limits) {
    limits {
      apiKeyId
      requestsPerMinute
      tokensPerMinute
      concurrentRequests
    }
  }
}
    `) as unknown as TypedDocumentString<SetApiKeyLimitsMutation, SetApiKeyLimitsMutationVariables>;
export const QuotaUpdatedDocument = new TypedDocumentString(`
    subscription QuotaUpdated($tenantId: ID) {
  quotaUpdated(tenantId: $tenantId) {
    tenantId
    period
    limit
    used
    remaining
    overage
    state
    hardQuota
    threshold
  }
}
    `) as unknown as TypedDocumentString<QuotaUpdatedSubscription, QuotaUpdatedSubscriptionVariables>;
export const EstimateCostDocument = new TypedDocumentString(`
    query EstimateCost($input: EstimateCostInput!) {
  estimateCost(input: $input) {
    model
    promptTokens
    maxTokens
    priced
    cost {
      amount
      amountMicros
      currency
    }
  }
}
    `) as unknown as TypedDocumentString<EstimateCostQuery, EstimateCostQueryVariables>;
export const InvoicePreviewDocument = new TypedDocumentString(`
    query InvoicePreview($id: ID!, $month: String) {
  tenant(id: $id) {
    id
    invoicePreview(month: $month) {
      tenantId
      month
      periodStart
      periodEnd
      final
      asOf
      currency
      planPeriods {
        plan {
          id
          name
        }
        from
        to
        days
        baseFee {
          amount
          currency
        }
      }
      baseFee {
        amount
        amountMicros
        currency
      }
      includedTokens
      usedTokens
      overageTokens
      overageRatePerMillion {
        amount
        currency
      }
      overageCharge {
        amount
        amountMicros
        currency
      }
      total {
        amount
        amountMicros
        currency
      }
      lines {
        model
        requests
        promptTokens
        completionTokens
        totalTokens
        priceBookValue {
          amount
          currency
        }
        costBasis {
          amount
          currency
        }
        margin {
          amount
          currency
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<InvoicePreviewQuery, InvoicePreviewQueryVariables>;
export const TenantsDocument = new TypedDocumentString(`
    query Tenants($first: Int, $after: String) {
  tenants(first: $first, after: $after) {
    edges {
      cursor
      node {
        id
        name
        status
        createdAt
        plan {
          id
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `) as unknown as TypedDocumentString<TenantsQuery, TenantsQueryVariables>;
export const TenantDocument = new TypedDocumentString(`
    query Tenant($id: ID!) {
  tenant(id: $id) {
    id
    name
    status
    createdAt
    plan {
      id
      name
      monthlyTokens
    }
  }
}
    `) as unknown as TypedDocumentString<TenantQuery, TenantQueryVariables>;
export const CreateTenantDocument = new TypedDocumentString(`
    mutation CreateTenant($input: CreateTenantInput!) {
  createTenant(input: $input) {
    tenant {
      id
      name
      plan {
        id
      }
    }
  }
}
    `) as unknown as TypedDocumentString<CreateTenantMutation, CreateTenantMutationVariables>;
export const UpdateTenantDocument = new TypedDocumentString(`
    mutation UpdateTenant($input: UpdateTenantInput!) {
  updateTenant(input: $input) {
    tenant {
      id
      name
    }
  }
}
    `) as unknown as TypedDocumentString<UpdateTenantMutation, UpdateTenantMutationVariables>;
export const SetTenantPlanDocument = new TypedDocumentString(`
    mutation SetTenantPlan($tenantId: ID!, $plan: String!) {
  setTenantPlan(tenantId: $tenantId, plan: $plan) {
    tenant {
      id
      plan {
        id
      }
    }
  }
}
    `) as unknown as TypedDocumentString<SetTenantPlanMutation, SetTenantPlanMutationVariables>;
export const TenantUsageDocument = new TypedDocumentString(`
    query TenantUsage($tenantId: ID!, $range: DateRangeInput!, $groupBy: UsageGroupBy, $filter: UsageFilter) {
  tenant(id: $tenantId) {
    id
    usage(range: $range, groupBy: $groupBy, filter: $filter) {
      range {
        from
        to
      }
      groupBy
      totals {
        ...UsageTotalsFields
      }
      buckets {
        key
        start
        end
        totals {
          ...UsageTotalsFields
        }
      }
    }
  }
}
    fragment UsageTotalsFields on UsageTotals {
  requests
  promptTokens
  completionTokens
  totalTokens
  errors
  refused
  cancelled
  cacheHits
  cacheHitRate
  estimatedRequests
  cost {
    amount
    currency
  }
  costs {
    amount
    amountMicros
    currency
  }
  latency {
    avgMs
    p50Ms
    p95Ms
  }
}`) as unknown as TypedDocumentString<TenantUsageQuery, TenantUsageQueryVariables>;
export const TenantUsageTotalsDocument = new TypedDocumentString(`
    query TenantUsageTotals($tenantId: ID!, $range: DateRangeInput!, $filter: UsageFilter) {
  tenant(id: $tenantId) {
    id
    usage(range: $range, filter: $filter) {
      totals {
        requests
        promptTokens
        completionTokens
        totalTokens
        cost {
          amount
          currency
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<TenantUsageTotalsQuery, TenantUsageTotalsQueryVariables>;
export const TenantUsageEventsDocument = new TypedDocumentString(`
    query TenantUsageEvents($tenantId: ID!, $first: Int, $after: String, $filter: UsageFilter, $range: DateRangeInput) {
  tenant(id: $tenantId) {
    id
    usageEvents(first: $first, after: $after, filter: $filter, range: $range) {
      edges {
        cursor
        node {
          id
          requestId
          timestamp
          userId
          apiKeyId
          requestedModel
          servedModel
          provider
          deployment
          kind
          promptTokens
          completionTokens
          totalTokens
          tokensEstimated
          ttftMs
          latencyMs
          status
          errorCode
          cacheHit
          templateName
          templateVersion
          cost {
            amount
            currency
          }
          node
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
}
    `) as unknown as TypedDocumentString<TenantUsageEventsQuery, TenantUsageEventsQueryVariables>;
export const UsageTopTenantsDocument = new TypedDocumentString(`
    query UsageTopTenants($range: DateRangeInput!, $by: UsageRankBy, $currency: String, $first: Int) {
  usageTopTenants(range: $range, by: $by, currency: $currency, first: $first) {
    tenantId
    tenant {
      id
      name
    }
    totals {
      requests
      totalTokens
      cost {
        amount
        currency
      }
      costs {
        amount
        currency
      }
    }
  }
}
    `) as unknown as TypedDocumentString<UsageTopTenantsQuery, UsageTopTenantsQueryVariables>;
export const PlatformUsageDocument = new TypedDocumentString(`
    query PlatformUsage($range: DateRangeInput!, $groupBy: UsageGroupBy, $filter: UsageFilter) {
  platformUsage(range: $range, groupBy: $groupBy, filter: $filter) {
    totals {
      ...UsageTotalsFields
    }
    buckets {
      key
      start
      end
      totals {
        requests
        totalTokens
        cost {
          amount
          currency
        }
      }
    }
  }
}
    fragment UsageTotalsFields on UsageTotals {
  requests
  promptTokens
  completionTokens
  totalTokens
  errors
  refused
  cancelled
  cacheHits
  cacheHitRate
  estimatedRequests
  cost {
    amount
    currency
  }
  costs {
    amount
    amountMicros
    currency
  }
  latency {
    avgMs
    p50Ms
    p95Ms
  }
}`) as unknown as TypedDocumentString<PlatformUsageQuery, PlatformUsageQueryVariables>;
export const TenantCacheSavingsDocument = new TypedDocumentString(`
    query TenantCacheSavings($tenantId: ID!, $range: DateRangeInput!, $filter: UsageFilter) {
  tenant(id: $tenantId) {
    id
    usage(range: $range, filter: $filter) {
      cache {
        hits
        hitRate
        tokensSaved
      }
    }
  }
}
    `) as unknown as TypedDocumentString<TenantCacheSavingsQuery, TenantCacheSavingsQueryVariables>;
export const ViewerDocument = new TypedDocumentString(`
    query Viewer {
  viewer {
    kind
    tenantId
    userId
    apiKeyId
    role
    scopes
  }
}
    `) as unknown as TypedDocumentString<ViewerQuery, ViewerQueryVariables>;