import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { parseRedisUrl } from './storage/redis-connection.ts';

// One zod model per subsystem; loadConfig() prints every wrong field at once.

const positiveInt = z.number().int().positive();
const decimalString = z
  .string()
  .regex(/^\d+(\.\d{1,6})?$/, 'a decimal string such as "3.00" (at most 6 decimals)');

export const providerConfigSchema = z.strictObject({
  name: z.string().min(1).regex(/^[a-zA-Z0-9_.-]+$/, 'letters, digits, "_", "." or "-"'),
  type: z.enum(['openai', 'ollama']),
  baseUrl: z.url({ protocol: /^https?$/ }),
  apiKeyEnv: z.string().min(1).optional(),
  responses: z.boolean().optional().describe('serves the Responses API itself (/v1/responses): requests are passed through, not translated to Chat Completions'),
});

/** What a deployment can do beyond plain text; a request that needs one is routed only where it is. */
export const capabilities = ['tools', 'vision', 'structured_output', 'reasoning'] as const;
export type Capability = (typeof capabilities)[number];
const capabilityList = z.array(z.enum(capabilities)).describe(`any of ${capabilities.join(', ')}; absent: all of them`);

export const deploymentConfigSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  weight: positiveInt.default(1),
  /** Replaces the model's list for this deployment. */
  capabilities: capabilityList.optional(),
});

export const priceConfigSchema = z.strictObject({
  inputPerMillion: decimalString,
  outputPerMillion: decimalString,
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD').default('USD'),
});

export const modelConfigSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(['chat', 'embedding']).default('chat'),
  contextWindow: positiveInt.optional(),
  deployments: z.array(deploymentConfigSchema).min(1),
  /** What every deployment of the model can do, unless a deployment lists its own. */
  capabilities: capabilityList.optional(),
  price: priceConfigSchema.optional(),
  /** What serving a million of this model's tokens costs the platform (margins); default limits.costBasis. */
  costBasis: z
    .strictObject({
      perMillion: decimalString,
      currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD').default('USD'),
    })
    .optional(),
});

export const routingConfigSchema = z.strictObject({
  strategy: z.enum(['round-robin', 'least-inflight', 'latency']).default('least-inflight'),
  maxAttempts: positiveInt.max(10).default(3),
  timeoutsMs: z
    .strictObject({
      connect: positiveInt.default(2_000),
      firstToken: positiveInt.default(30_000),
      idle: positiveInt.default(30_000),
      total: positiveInt.default(300_000),
      // Non-streaming chat/completions: upstreams answer only when generation is done, so first-token
      // and idle cannot apply; this bounds each attempt's wait for the whole answer (unset: total only).
      response: positiveInt.optional(),
    })
    .prefault({}),
  /** How often each deployment is probed; results order routing and show in health. */
  healthCheckIntervalMs: positiveInt.default(15_000),
  circuitBreaker: z
    .strictObject({
      failures: positiveInt.default(5),
      cooldownMs: positiveInt.default(30_000),
    })
    .prefault({}),
});

/** One rule of a route: when its conditions hold, the first (or cheapest) of its models that can serve the request. */
export const routeRuleConfigSchema = z.strictObject({
  name: z.string().min(1).regex(/^[a-zA-Z0-9_.-]+$/, 'letters, digits, "_", "." or "-"'),
  /** Every condition given must hold; none given: the rule always applies. */
  when: z
    .strictObject({
      /** The request needs every one of these capabilities. */
      needs: z.array(z.enum(capabilities)).min(1).optional(),
      /** The tenant is on one of these plans. */
      plans: z.array(z.string().min(1)).min(1).optional(),
    })
    .prefault({}),
  /** Candidates, tried in this order; one whose context window cannot hold the request is passed over. */
  models: z.array(z.string().min(1)).min(1),
  /** first: the first candidate that can serve the request; cheapest: the one with the lowest estimated cost. */
  choose: z.enum(['first', 'cheapest']).default('first'),
  /** Ceiling on a candidate's estimated cost for the request (prompt and max_tokens at its price), in its price's currency. */
  maxCost: decimalString.optional(),
});

/** A name clients ask for that resolves to a configured model per request. */
export const routeConfigSchema = z.strictObject({
  name: z.string().min(1),
  rules: z.array(routeRuleConfigSchema).default([]),
  /** The model when no rule picks one. */
  default: z.string().min(1),
});

export const inferenceFileSchema = z
  .strictObject({
    providers: z.array(providerConfigSchema).default([]),
    models: z.array(modelConfigSchema).default([]),
    routes: z.array(routeConfigSchema).default([]),
    routing: routingConfigSchema.prefault({}),
  })
  .superRefine((file, ctx) => {
    const providerNames = new Set<string>();
    file.providers.forEach((provider, i) => {
      if (providerNames.has(provider.name)) {
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'name'], message: `duplicate provider name "${provider.name}"` });
      }
      providerNames.add(provider.name);
    });
    const modelNames = new Set<string>();
    file.models.forEach((model, i) => {
      if (modelNames.has(model.name)) {
        ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `duplicate model name "${model.name}"` });
      }
      modelNames.add(model.name);
      model.deployments.forEach((deployment, j) => {
        if (!providerNames.has(deployment.provider)) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', i, 'deployments', j, 'provider'],
            message: `unknown provider "${deployment.provider}" (declared: ${[...providerNames].join(', ') || 'none'})`,
          });
        }
      });
    });
    checkRoutes(file.routes, new Map(file.models.map((model) => [model.name, model])), ctx);
  });

/** Route names are unique and apart from model names; every model a route names is a configured chat model. */
function checkRoutes(routes: RouteConfig[], models: ReadonlyMap<string, ModelConfig>, ctx: z.RefinementCtx): void {
  const routeNames = new Set<string>();
  const checkModel = (name: string, path: (string | number)[]) => {
    const model = models.get(name);
    if (!model) ctx.addIssue({ code: 'custom', path, message: `unknown model "${name}" (configured: ${[...models.keys()].join(', ') || 'none'})` });
    else if (model.kind !== 'chat') ctx.addIssue({ code: 'custom', path, message: `model "${name}" is an embedding model; routes choose among chat models` });
  };
  routes.forEach((route, i) => {
    if (routeNames.has(route.name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `duplicate route name "${route.name}"` });
    if (models.has(route.name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `"${route.name}" is already a model name` });
    routeNames.add(route.name);
    checkModel(route.default, ['routes', i, 'default']);
    const ruleNames = new Set<string>();
    route.rules.forEach((rule, j) => {
      if (ruleNames.has(rule.name) || rule.name === 'default') {
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'rules', j, 'name'], message: `rule name "${rule.name}" is used twice in route "${route.name}" ("default" names the default)` });
      }
      ruleNames.add(rule.name);
      rule.models.forEach((name, k) => checkModel(name, ['routes', i, 'rules', j, 'models', k]));
    });
  });
}

export const serverConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65_535).default(8000),
  shutdownGraceMs: z.coerce.number().int().positive().default(10_000),
  maxBodyBytes: z.coerce.number().int().positive().default(1024 * 1024),
  /** Operations one graphql-ws connection may run at once. */
  maxSubscriptionsPerSocket: z.coerce.number().int().positive().default(100),
  publicGraphiql: z.boolean().default(true),
});

export const storageConfigSchema = z.strictObject({
  dataDir: z.string().min(1).default('./.tollgate'),
  databaseUrl: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Without DATABASE_URL: PGlite on disk under dataDir, or in memory (nothing survives a restart: demos and tests). */
  embeddedDatabase: z.enum(['disk', 'memory']).default('disk'),
  /** redis://, rediss://, or redis+cluster://host:port,host:port,... for a Redis Cluster. */
  redisUrl: z
    .string()
    .superRefine((url, context) => {
      try {
        parseRedisUrl(url);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
  clickhouseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** A cluster in the ClickHouse servers' remote_servers: replicated tables behind Distributed ones. */
  clickhouseCluster: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a cluster name from remote_servers (letters, digits, _)').optional(),
  /**
   * While the SQL database is unreachable, keys, tenants, limits and routing settings read from it at
   * most this long ago are still used (0: never); anything older, or never read, is refused with 503.
   */
  databaseOutageGraceMs: z.coerce.number().int().min(0).max(86_400_000).default(300_000),
}).superRefine((storage, context) => {
  if (storage.clickhouseCluster !== undefined && storage.clickhouseUrl === undefined) {
    context.addIssue({ code: 'custom', path: ['clickhouseCluster'], message: 'needs CLICKHOUSE_URL (a server of the cluster)' });
  }
});

export const authConfigSchema = z.strictObject({
  adminKey: z.string().min(16, 'at least 16 characters').optional(),
  secret: z.string().min(16, 'at least 16 characters').optional(),
  /** Earlier values of `secret`, kept only to decrypt credentials sealed before a rotation. */
  previousSecrets: z.array(z.string().min(16, 'at least 16 characters')).default([]),
  jwtSecret: z.string().min(32, 'at least 32 characters (HS256 needs 256 bits)').optional(),
  jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
  jwtIssuer: z.string().optional(),
  jwtAudience: z.string().optional(),
});

/** Single sign-on for the web console (OpenID Connect); off unless an issuer is set. */
export const oidcConfigSchema = z
  .strictObject({
    issuer: z.url({ protocol: /^https?$/ }).optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    /** ID token claims mapped as dashboard JWTs' `tid` and `role`. */
    tenantClaim: z.string().min(1).default('tid'),
    roleClaim: z.string().min(1).default('role'),
    /** Where the provider sends the browser back; default: this gateway's /console/sso/callback as the request reached it. */
    redirectUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((oidc) => oidc.issuer === undefined || oidc.clientId !== undefined, { message: 'TOLLGATE_OIDC_CLIENT_ID is required with TOLLGATE_OIDC_ISSUER', path: ['clientId'] });

const booleanish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')], {
  error: 'true or false',
});

export const graphqlConfigSchema = z.strictObject({
  /** Schema introspection; unset means on, except with NODE_ENV=production. */
  introspection: booleanish.optional(),
  // Limits on what one document may ask for, the same over HTTP and WebSocket.
  maxDepth: positiveInt.default(6),
  maxAliases: positiveInt.default(15),
  maxDirectives: positiveInt.default(10),
  maxTokens: positiveInt.default(1000),
  maxCost: positiveInt.default(5000),
});

export const usageConfigSchema = z.strictObject({
  /** Group commit: how often recorded events are fsynced to the spool and handed to the store. */
  flushIntervalMs: z.coerce.number().int().min(5).max(10_000).default(100),
  /** Events per insert into the usage store. */
  batchSize: z.coerce.number().int().min(1).max(100_000).default(5_000),
  /** Least time between inserts of less than batchSize events: ClickHouse writes a part per insert. */
  insertIntervalMs: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /** Events held in memory at most; past it, spooled batches wait on disk only. */
  maxQueued: z.coerce.number().int().min(1).default(200_000),
  /** Disk the spool may take while the store is away (1 GiB is some 1.5 million events); past it, memory only. */
  spoolMaxBytes: z.coerce.number().int().min(1_048_576).default(1_073_741_824),
  /** Bound on one insert; past it the batch's outcome is unknown and it is checked before a resend. */
  insertTimeoutMs: z.coerce.number().int().positive().default(10_000),
  /** How long shutdown waits for the store to take spooled batches (the rest is sent at the next start). */
  closeTimeoutMs: z.coerce.number().int().min(0).default(5_000),
  /** Months of events kept (ClickHouse TTL where supported, else dropped partitions). */
  retentionMonths: z.coerce.number().int().min(1).default(18),
  /** Recorded on each event as `node`; defaults to the host name. */
  node: z.string().min(1).optional(),
});

export const telemetryConfigSchema = z.strictObject({
  /** Adds a tenant label to token metrics: one series per tenant, so only for a bounded number of them. */
  tenantLabel: booleanish.default(false),
  /** OTLP/HTTP traces URL; traces are off when unset (OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  otlpTracesUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** service.name on exported spans. */
  serviceName: z.string().min(1).default('tollgate'),
});

export const limitsConfigSchema = z
  .strictObject({
    /** Prefix of every Redis key and channel of rate limits and quotas. */
    keyPrefix: z.string().min(1).default('tollgate:'),
    /** Reply budget reserved against tokens per minute when a request sets no max_tokens. */
    defaultMaxTokens: z.coerce.number().int().positive().default(512),
    /** How long an instance uses a tenant's cached plan and overrides before reloading them. */
    cacheMs: z.coerce.number().int().positive().default(1_000),
    /** Longest a concurrency slot is held without a settlement (a crashed instance), in ms. */
    concurrencyLeaseMs: z.coerce.number().int().positive().default(600_000),
    /** Bound on each limiter call to Redis; past it the call counts as failed. */
    redisTimeoutMs: z.coerce.number().int().positive().default(250),
    /** How long a settled request id is remembered, so a client retry with the same X-Request-ID counts once. */
    requestIdTtlMs: z.coerce.number().int().positive().default(3_600_000),
    /**
     * The same for a request id minted by the gateway (the client sent none), which only a settlement's
     * retry can repeat: most ids, and so most of the limiter's memory in Redis.
     */
    generatedRequestIdTtlMs: z.coerce.number().int().positive().default(600_000),
    /**
     * With Redis: a request whose tenant had ample headroom in its last verdict goes upstream while the
     * verdict for it is on its way, and is aborted if refused (docs/limits.md). false: every
     * request waits for its verdict.
     */
    earlyStart: booleanish.default(true),
    /**
     * With earlyStart: such a request is also answered without waiting for its verdict. A refusal that
     * comes after the upstream answered lets it be served past the limit (docs/limits.md). false:
     * early starts still wait for their verdict, and a refusal always aborts them.
     */
    earlyAnswer: booleanish.default(true),
    /** With Redis: the admissions of early answers, and their settlements, are held back this long to be sent together (0: at once). */
    flushIntervalMs: z.coerce.number().int().min(0).max(1_000).default(5),
    /** GraphQL operations (root fields) per minute per principal; the platform admin key is not limited. */
    graphqlPerMinute: z.coerce.number().int().positive().default(600),
    /** The platform's endpoint for quota alerts (80% and 100%), signed with quotaWebhookSecret. */
    quotaWebhookUrl: z.url({ protocol: /^https?$/ }).optional(),
    quotaWebhookSecret: z.string().min(16, 'at least 16 characters').optional(),
    /** Internal cost per million tokens of models that state none, for margins. */
    costBasis: z
      .strictObject({ perMillion: decimalString, currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD') })
      .default({ perMillion: '3.00', currency: 'USD' }),
  })
  .superRefine((limits, ctx) => {
    if (limits.quotaWebhookUrl && !limits.quotaWebhookSecret) {
      ctx.addIssue({ code: 'custom', path: ['quotaWebhookSecret'], message: 'required with a quota webhook URL: deliveries are signed with it' });
    }
  });

export const cacheConfigSchema = z.strictObject({
  ttlMs: z.coerce.number().int().positive().default(3_600_000),
  maxEntries: z.coerce.number().int().positive().default(10_000),
  /** Set: answers are also kept in the SQL database for this long, across restarts. */
  persistentTtlMs: z.coerce.number().int().positive().optional(),
});

export const configSchema = z.strictObject({
  telemetry: telemetryConfigSchema.prefault({}),
  cache: cacheConfigSchema.prefault({}),
  server: serverConfigSchema.prefault({}),
  storage: storageConfigSchema.prefault({}),
  auth: authConfigSchema.prefault({}),
  oidc: oidcConfigSchema.prefault({}),
  graphql: graphqlConfigSchema.prefault({}),
  usage: usageConfigSchema.prefault({}),
  limits: limitsConfigSchema.prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Write each log line before going on (slower under load; lines are not lost if the process crashes). */
  logSync: booleanish.default(false),
  production: z.boolean().default(false),
  configPath: z.string().optional(),
  inference: inferenceFileSchema.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type InferenceConfigFile = z.infer<typeof inferenceFileSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type UsageConfig = z.infer<typeof usageConfigSchema>;
export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;
export type LimitsConfig = z.infer<typeof limitsConfigSchema>;
export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;
export type RoutingConfig = z.infer<typeof routingConfigSchema>;
export type RouteConfig = z.infer<typeof routeConfigSchema>;
export type RouteRuleConfig = z.infer<typeof routeRuleConfigSchema>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function describeIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const where = `${prefix}${path}`.replace(/^\./, '') || '(root)';
    return `${where}: ${issue.message}`;
  });
}

/** Parses and validates the YAML inference file; throws ConfigError naming each wrong field. */
export function loadInferenceFile(path: string): InferenceConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(path, [`malformed YAML: ${detail}`]);
  }
  const result = inferenceFileSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(path, describeIssues(result.error));
  return result.data;
}

const envNames: Record<string, string> = {
  'cache.ttlMs': 'TOLLGATE_CACHE_TTL_MS',
  'cache.maxEntries': 'TOLLGATE_CACHE_MAX_ENTRIES',
  'cache.persistentTtlMs': 'TOLLGATE_CACHE_PERSISTENT_TTL_MS',
  'server.host': 'HOST',
  'server.port': 'PORT',
  'server.maxSubscriptionsPerSocket': 'TOLLGATE_WS_MAX_SUBSCRIPTIONS',
  'storage.dataDir': 'TOLLGATE_DATA_DIR',
  'storage.databaseUrl': 'DATABASE_URL',
  'storage.embeddedDatabase': 'TOLLGATE_EMBEDDED_DATABASE',
  'storage.databaseOutageGraceMs': 'TOLLGATE_DATABASE_OUTAGE_GRACE_MS',
  'storage.redisUrl': 'REDIS_URL',
  'storage.clickhouseUrl': 'CLICKHOUSE_URL',
  'storage.clickhouseCluster': 'CLICKHOUSE_CLUSTER',
  'auth.adminKey': 'TOLLGATE_ADMIN_KEY',
  'auth.secret': 'TOLLGATE_SECRET',
  'auth.jwtSecret': 'TOLLGATE_JWT_SECRET',
  'auth.jwksUrl': 'TOLLGATE_JWKS_URL',
  'auth.previousSecrets': 'TOLLGATE_SECRET_PREVIOUS',
  'oidc.issuer': 'TOLLGATE_OIDC_ISSUER',
  'oidc.clientId': 'TOLLGATE_OIDC_CLIENT_ID',
  'oidc.clientSecret': 'TOLLGATE_OIDC_CLIENT_SECRET',
  'oidc.tenantClaim': 'TOLLGATE_OIDC_TENANT_CLAIM',
  'oidc.roleClaim': 'TOLLGATE_OIDC_ROLE_CLAIM',
  'oidc.redirectUrl': 'TOLLGATE_OIDC_REDIRECT_URL',
  'graphql.introspection': 'TOLLGATE_GRAPHQL_INTROSPECTION',
  'usage.flushIntervalMs': 'TOLLGATE_USAGE_FLUSH_INTERVAL_MS',
  'usage.batchSize': 'TOLLGATE_USAGE_BATCH_SIZE',
  'usage.insertIntervalMs': 'TOLLGATE_USAGE_INSERT_INTERVAL_MS',
  'usage.maxQueued': 'TOLLGATE_USAGE_MAX_QUEUED',
  'usage.spoolMaxBytes': 'TOLLGATE_USAGE_SPOOL_MAX_BYTES',
  'usage.retentionMonths': 'TOLLGATE_USAGE_RETENTION_MONTHS',
  'telemetry.tenantLabel': 'TOLLGATE_METRICS_TENANT_LABEL',
  'telemetry.otlpTracesUrl': 'OTEL_EXPORTER_OTLP_ENDPOINT',
  'telemetry.serviceName': 'OTEL_SERVICE_NAME',
  'limits.keyPrefix': 'TOLLGATE_LIMITS_KEY_PREFIX',
  'limits.earlyStart': 'TOLLGATE_LIMITS_EARLY_START',
  'limits.earlyAnswer': 'TOLLGATE_LIMITS_EARLY_ANSWER',
  'limits.flushIntervalMs': 'TOLLGATE_LIMITS_FLUSH_INTERVAL_MS',
  'limits.defaultMaxTokens': 'TOLLGATE_DEFAULT_MAX_TOKENS',
  'limits.graphqlPerMinute': 'TOLLGATE_GRAPHQL_RATE_LIMIT',
  'limits.quotaWebhookUrl': 'TOLLGATE_QUOTA_WEBHOOK_URL',
  'limits.quotaWebhookSecret': 'TOLLGATE_QUOTA_WEBHOOK_SECRET',
  logLevel: 'LOG_LEVEL',
  logSync: 'TOLLGATE_LOG_SYNC',
};

/** OpenTelemetry's rule: the traces-specific URL as it is, else the base endpoint plus /v1/traces. */
function otlpTracesUrl(traces: string | undefined, base: string | undefined, disabled: string | undefined): string | undefined {
  if (disabled === 'true') return undefined;
  if (traces !== undefined) return traces;
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** Builds the whole configuration from the environment (and the YAML file it names). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const value = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const production = env.NODE_ENV === 'production';
  const introspection = value('TOLLGATE_GRAPHQL_INTROSPECTION');
  const input = {
    cache: { ttlMs: value('TOLLGATE_CACHE_TTL_MS'), maxEntries: value('TOLLGATE_CACHE_MAX_ENTRIES'), persistentTtlMs: value('TOLLGATE_CACHE_PERSISTENT_TTL_MS') },
    server: {
      host: value('HOST'),
      port: value('PORT'),
      shutdownGraceMs: value('TOLLGATE_SHUTDOWN_GRACE_MS'),
      maxBodyBytes: value('TOLLGATE_MAX_BODY_BYTES'),
      maxSubscriptionsPerSocket: value('TOLLGATE_WS_MAX_SUBSCRIPTIONS'),
      // GraphiQL needs introspection, so the same switch turns both on in production.
      publicGraphiql: introspection === undefined ? !production : introspection === 'true' || introspection === '1',
    },
    storage: {
      dataDir: value('TOLLGATE_DATA_DIR'),
      databaseUrl: value('DATABASE_URL'),
      embeddedDatabase: value('TOLLGATE_EMBEDDED_DATABASE'),
      databaseOutageGraceMs: value('TOLLGATE_DATABASE_OUTAGE_GRACE_MS'),
      redisUrl: value('REDIS_URL'),
      clickhouseUrl: value('CLICKHOUSE_URL'),
      clickhouseCluster: value('CLICKHOUSE_CLUSTER'),
    },
    auth: {
      adminKey: value('TOLLGATE_ADMIN_KEY'),
      secret: value('TOLLGATE_SECRET'),
      jwtSecret: value('TOLLGATE_JWT_SECRET'),
      jwksUrl: value('TOLLGATE_JWKS_URL'),
      jwtIssuer: value('TOLLGATE_JWT_ISSUER'),
      jwtAudience: value('TOLLGATE_JWT_AUDIENCE'),
      previousSecrets: value('TOLLGATE_SECRET_PREVIOUS')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    oidc: {
      issuer: value('TOLLGATE_OIDC_ISSUER'),
      clientId: value('TOLLGATE_OIDC_CLIENT_ID'),
      clientSecret: value('TOLLGATE_OIDC_CLIENT_SECRET'),
      tenantClaim: value('TOLLGATE_OIDC_TENANT_CLAIM'),
      roleClaim: value('TOLLGATE_OIDC_ROLE_CLAIM'),
      redirectUrl: value('TOLLGATE_OIDC_REDIRECT_URL'),
    },
    graphql: { introspection },
    usage: {
      flushIntervalMs: value('TOLLGATE_USAGE_FLUSH_INTERVAL_MS'),
      batchSize: value('TOLLGATE_USAGE_BATCH_SIZE'),
      insertIntervalMs: value('TOLLGATE_USAGE_INSERT_INTERVAL_MS'),
      maxQueued: value('TOLLGATE_USAGE_MAX_QUEUED'),
      spoolMaxBytes: value('TOLLGATE_USAGE_SPOOL_MAX_BYTES'),
      retentionMonths: value('TOLLGATE_USAGE_RETENTION_MONTHS'),
    },
    telemetry: {
      tenantLabel: value('TOLLGATE_METRICS_TENANT_LABEL'),
      otlpTracesUrl: otlpTracesUrl(value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), value('OTEL_EXPORTER_OTLP_ENDPOINT'), value('OTEL_SDK_DISABLED')),
      serviceName: value('OTEL_SERVICE_NAME'),
    },
    limits: {
      keyPrefix: value('TOLLGATE_LIMITS_KEY_PREFIX'),
      earlyStart: value('TOLLGATE_LIMITS_EARLY_START'),
      earlyAnswer: value('TOLLGATE_LIMITS_EARLY_ANSWER'),
      flushIntervalMs: value('TOLLGATE_LIMITS_FLUSH_INTERVAL_MS'),
      defaultMaxTokens: value('TOLLGATE_DEFAULT_MAX_TOKENS'),
      graphqlPerMinute: value('TOLLGATE_GRAPHQL_RATE_LIMIT'),
      quotaWebhookUrl: value('TOLLGATE_QUOTA_WEBHOOK_URL'),
      quotaWebhookSecret: value('TOLLGATE_QUOTA_WEBHOOK_SECRET'),
    },
    logLevel: value('LOG_LEVEL'),
    logSync: value('TOLLGATE_LOG_SYNC'),
    production,
    configPath: value('TOLLGATE_CONFIG'),
  };
  const result = configSchema.omit({ inference: true }).safeParse(input);
  if (!result.success) {
    const problems = describeIssues(result.error).map((line) => {
      const field = line.slice(0, line.indexOf(':')).replace(/\[\d+\]$/, '');
      return envNames[field] ? `${envNames[field]} (${line})` : line;
    });
    throw new ConfigError('the environment', problems);
  }
  const inference = result.data.configPath
    ? loadInferenceFile(resolve(result.data.configPath))
    : inferenceFileSchema.parse({});
  return { ...result.data, inference };
}
