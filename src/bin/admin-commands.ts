import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config.ts';
import { ApiKeyService } from '../modules/api-key/index.ts';
import { normaliseScopes } from '../modules/api-key/index.ts';
import { apiKeyPrefix } from '../modules/api-key/index.ts';
import type { Principal } from '../modules/identity/index.ts';
import { PlanService, type CreatePlanInput, type UpdatePlanInput } from '../modules/plan/index.ts';
import { findPlanPrices } from '../modules/plan/index.ts';
import { priceInForce } from '../modules/plan/index.ts';
import type { PlanRow, PriceTier } from '../modules/plan/index.ts';
import { TenantService, type Actor } from '../modules/tenant/index.ts';
import type { TenantRow } from '../modules/tenant/index.ts';
import { DomainError } from '../shared/errors.ts';
import { newRequestId } from '../shared/ids.ts';
import { createLogger } from '../shared/logger.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';
import { createAdminDeps } from '../base-deps.ts';

// Tenant, key and plan administration from a shell, acting as the platform through the same services as
// GraphQL, so every rule and audit row applies. The database is DATABASE_URL or the embedded one.

const storage = `Acts as the platform admin on DATABASE_URL, or on the embedded database under
TOLLGATE_DATA_DIR (default ./.tollgate), applying pending migrations first.`;

const limitOptions = `  --monthly-tokens N|none        tokens included each month (none: unlimited)
  --requests-per-minute N|none
  --tokens-per-minute N|none
  --requests-per-hour N|none
  --requests-per-month N|none
  --concurrent-requests N|none`;

const overageOptions = `  --overage-per-million PRICE   one rate for every token beyond the included ones
  --overage-tiers TIERS         graduated tiers instead, UP_TO:PRICE,...,rest:PRICE, e.g. 10000000:7.00,rest:5.50`;

export const adminCommandHelp: Record<string, string> = {
  tenant: `Usage: tollgate tenant <create|list|suspend|reactivate> [options]

  create --name NAME [--plan PLAN]   create a tenant
  list                               list every tenant, oldest first
  suspend ID                         refuse every key and session of a tenant
  reactivate ID                      accept them again

Run "tollgate tenant <command> --help" for the options of each.
`,
  'tenant create': `Usage: tollgate tenant create --name NAME [--plan PLAN] [--json]

Creates a tenant and prints its id.

  --name NAME   the tenant's name (1 to 200 characters)
  --plan PLAN   free (default), starter, pro or enterprise
  --json        print the tenant as JSON

${storage}
`,
  'tenant list': `Usage: tollgate tenant list [--json]

Lists every tenant, oldest first: id, plan, status, creation time and name.

  --json   print a JSON array

${storage}
`,
  'tenant suspend': `Usage: tollgate tenant suspend ID [--json]

Suspends a tenant: its API keys and sessions are refused (403 tenant_suspended) and its open
WebSockets closed, on every gateway sharing REDIS_URL at once (without Redis, within 30 seconds).
Requests in flight finish and are metered; usage is kept. Audit-logged.

${storage}
`,
  'tenant reactivate': `Usage: tollgate tenant reactivate ID [--json]

Reactivates a suspended tenant: its keys and sessions are accepted again, on every gateway sharing
REDIS_URL at once (without Redis, within 30 seconds). Audit-logged.

${storage}
`,
  key: `Usage: tollgate key create --tenant ID --name NAME [options]

  create   create an API key for a tenant and print its secret once

Run "tollgate key create --help" for its options.
`,
  'key create': `Usage: tollgate key create --tenant ID --name NAME [--scopes a,b] [--expires ISO] [--json]

Creates an API key and prints its secret, tg_<id>_<secret>. The secret is shown this once and
only its digest is stored: keep it now.

  --tenant ID       the tenant the key belongs to
  --name NAME       what the key is for (1 to 200 characters)
  --scopes a,b      comma-separated: inference, usage:read, admin (default: inference,usage:read)
  --expires ISO     when the key stops working, e.g. 2027-01-01T00:00:00Z (default: never)
  --json            print the key and its secret as JSON

${storage}
`,
  plan: `Usage: tollgate plan <list|create|update|retire> [options]

  list                  list the plans on offer (--all: retired ones too)
  create --id ID ...    create a plan
  update --id ID ...    change a plan's limits (at once) or price (a new version)
  retire --id ID        stop offering a plan; its tenants keep it

Run "tollgate plan <command> --help" for the options of each.
`,
  'plan list': `Usage: tollgate plan list [--all] [--json]

Lists the plans on offer, cheapest first, with the price in force now.

  --all    retired plans too
  --json   print a JSON array

${storage}
`,
  'plan create': `Usage: tollgate plan create --id ID --name NAME --currency CODE --monthly-price PRICE
                            --hard-quota true|false [limits] [overage] [--json]

Creates a plan. A limit left out, or given as "none", is no cap; a plan with no cap at all is unlimited.

  --id ID                       lowercase letters, digits and dashes, e.g. team-2027
  --name NAME                   the name tenants see
  --currency CODE               ISO 4217, e.g. GBP
  --monthly-price PRICE         decimal, e.g. 39.00
  --hard-quota true|false       true: refuse requests past the monthly tokens; false: bill them as overage
${limitOptions}
${overageOptions}
  --json                        print the plan as JSON

${storage}
`,
  'plan update': `Usage: tollgate plan update --id ID [options] [--json]

Changes what is given and keeps the rest. Limits apply from the next request. A price option makes
a new price version from --price-effective-from (default now): usage served before keeps its price.

  --name NAME
  --currency CODE
  --monthly-price PRICE
  --hard-quota true|false
${limitOptions}
${overageOptions}
  --price-effective-from ISO    when the new price takes effect, now or later, e.g. 2027-01-01T00:00:00Z
  --json                        print the plan as JSON

${storage}
`,
  'plan retire': `Usage: tollgate plan retire --id ID [--json]

Stops offering a plan: no tenant may move onto it, and the tenants on it keep it until they move.

${storage}
`,
};

/** A mistake in how the command was called: one line and exit code 2. */
class UsageError extends Error {}

const platform: Principal = { kind: 'platform', tenantId: undefined, userId: 'cli' };
const actor = (): Actor => ({ principal: platform, requestId: newRequestId() });

export async function runAdminCommand(command: 'tenant' | 'key' | 'plan', args: string[], loadConfig: () => Config): Promise<number> {
  const [sub, ...rest] = args;
  const name = `${command} ${sub ?? ''}`.trim();
  const run = subcommands[name];
  if (!run) {
    process.stderr.write(
      sub === undefined ? adminCommandHelp[command] ?? '' : `tollgate: unknown command "${name}" (see tollgate ${command} --help)\n`,
    );
    return 2;
  }
  try {
    return await run(rest, loadConfig);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tollgate ${name}: ${error.message} (see tollgate ${name} --help)\n`);
      return 2;
    }
    if (error instanceof DomainError) {
      process.stderr.write(`tollgate ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

type Subcommand = (args: string[], loadConfig: () => Config) => Promise<number>;

const subcommands: Record<string, Subcommand> = {
  'tenant create': async (args, loadConfig) => {
    const options = parse(args, { name: { type: 'string' }, plan: { type: 'string' }, json: { type: 'boolean' } });
    const name = required(options, 'name');
    return withServices(loadConfig, async ({ tenants }) => {
      const tenant = await tenants.create(actor(), { name, plan: optional(options, 'plan') });
      print(options.json ? JSON.stringify(tenantJson(tenant)) : `created tenant ${tenant.id} "${tenant.name}" on plan ${tenant.plan_id}`);
      return 0;
    });
  },
  'tenant list': async (args, loadConfig) => {
    const options = parse(args, { json: { type: 'boolean' } });
    return withServices(loadConfig, async ({ tenants }) => {
      const all: TenantRow[] = [];
      for (;;) {
        const last = all.at(-1);
        const page = await tenants.list(platform, {
          limit: 100,
          after: last ? { createdAt: last.created_at, id: last.id } : undefined,
          before: undefined,
          inverted: false,
        });
        all.push(...page);
        if (page.length < 100) break;
      }
      if (options.json) print(JSON.stringify(all.map(tenantJson)));
      else if (all.length === 0) print('no tenants yet: create one with "tollgate tenant create --name NAME"');
      else print(table(['ID', 'PLAN', 'STATUS', 'CREATED', 'NAME'], all.map((t) => [t.id, t.plan_id, t.status, t.created_at.toISOString(), t.name])));
      return 0;
    });
  },
  'tenant suspend': (args, loadConfig) => setTenantStatus(args, loadConfig, 'suspend'),
  'tenant reactivate': (args, loadConfig) => setTenantStatus(args, loadConfig, 'reactivate'),
  'key create': async (args, loadConfig) => {
    const options = parse(args, {
      tenant: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      expires: { type: 'string' },
      json: { type: 'boolean' },
    });
    const tenantId = required(options, 'tenant');
    const name = required(options, 'name');
    const scopesOption = optional(options, 'scopes');
    // Checked before the database opens, so a typo fails fast.
    const scopes = scopesOption === undefined ? undefined : normaliseScopes(scopesOption.split(',').map((s) => s.trim()).filter(Boolean));
    const expiresAt = parseExpiry(optional(options, 'expires'));
    return withServices(loadConfig, async ({ apiKeys }) => {
      const { apiKey, secret } = await apiKeys.create(actor(), { tenantId, name, scopes, expiresAt });
      if (options.json) {
        print(
          JSON.stringify({
            id: apiKey.id,
            prefix: apiKeyPrefix(apiKey.id),
            tenantId: apiKey.tenant_id,
            name: apiKey.name,
            scopes: apiKey.scopes,
            expiresAt: apiKey.expires_at?.toISOString() ?? null,
            secret,
          }),
        );
      } else {
        print(
          `created API key ${apiKeyPrefix(apiKey.id)} "${apiKey.name}" for tenant ${apiKey.tenant_id}` +
            ` (scopes: ${apiKey.scopes.join(', ')}; expires: ${apiKey.expires_at?.toISOString() ?? 'never'})`,
        );
        print('secret (shown this once, store it now):');
        print(secret);
      }
      return 0;
    });
  },
  'plan list': async (args, loadConfig) => {
    const options = parse(args, { all: { type: 'boolean' }, json: { type: 'boolean' } });
    return withServices(loadConfig, async ({ plans, db }) => {
      const all = await plans.list(platform, { includeRetired: options.all === true });
      const rows = await planJson(db, all);
      if (options.json) print(JSON.stringify(rows));
      else {
        const cap = (value: number | null) => (value === null ? 'none' : String(value));
        print(
          table(
            ['ID', 'PRICE', 'TOKENS/MONTH', 'RPM', 'TPM', 'QUOTA', 'RETIRED', 'NAME'],
            rows.map((p) => [p.id, `${p.currency} ${p.monthlyPrice}`, cap(p.monthlyTokens), cap(p.requestsPerMinute), cap(p.tokensPerMinute), p.hardQuota ? 'hard' : 'soft', p.retiredAt ?? '', p.name]),
          ),
        );
      }
      return 0;
    });
  },
  'plan create': async (args, loadConfig) => {
    const options = parse(args, planOptions);
    const input: CreatePlanInput = { ...planInput(options), id: required(options, 'id') };
    return withServices(loadConfig, async ({ plans, db }) => {
      const plan = await plans.create(actor(), input);
      print(options.json ? JSON.stringify((await planJson(db, [plan]))[0]) : `created plan ${plan.id} "${plan.name}"`);
      return 0;
    });
  },
  'plan update': async (args, loadConfig) => {
    const options = parse(args, { ...planOptions, 'price-effective-from': { type: 'string' } });
    const effective = optional(options, 'price-effective-from');
    const input: UpdatePlanInput = { ...planInput(options), id: required(options, 'id'), priceEffectiveFrom: effective === undefined ? undefined : parseTime('--price-effective-from', effective) };
    return withServices(loadConfig, async ({ plans, db }) => {
      const plan = await plans.update(actor(), input);
      print(options.json ? JSON.stringify((await planJson(db, [plan]))[0]) : `updated plan ${plan.id} "${plan.name}"`);
      return 0;
    });
  },
  'plan retire': async (args, loadConfig) => {
    const options = parse(args, { id: { type: 'string' }, json: { type: 'boolean' } });
    const id = required(options, 'id');
    return withServices(loadConfig, async ({ plans, db }) => {
      const plan = await plans.retire(actor(), id);
      print(options.json ? JSON.stringify((await planJson(db, [plan]))[0]) : `retired plan ${plan.id} "${plan.name}"; its tenants keep it until they move`);
      return 0;
    });
  },
};

const planOptions: Options = {
  id: { type: 'string' },
  name: { type: 'string' },
  currency: { type: 'string' },
  'monthly-price': { type: 'string' },
  'hard-quota': { type: 'string' },
  'monthly-tokens': { type: 'string' },
  'requests-per-minute': { type: 'string' },
  'tokens-per-minute': { type: 'string' },
  'requests-per-hour': { type: 'string' },
  'requests-per-month': { type: 'string' },
  'concurrent-requests': { type: 'string' },
  'overage-per-million': { type: 'string' },
  'overage-tiers': { type: 'string' },
  json: { type: 'boolean' },
};

/** The plan options as the service takes them; values the service checks further (ranges, decimals) pass through. */
function planInput(options: Values): Omit<UpdatePlanInput, 'id'> {
  const cap = (name: string): number | null | undefined => {
    const value = optional(options, name);
    if (value === undefined) return undefined;
    if (value === 'none') return null;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number or "none" (got "${value}")`);
    return Number(value);
  };
  const hardQuota = optional(options, 'hard-quota');
  if (hardQuota !== undefined && hardQuota !== 'true' && hardQuota !== 'false') throw new UsageError(`--hard-quota must be true or false (got "${hardQuota}")`);
  const tiers = optional(options, 'overage-tiers');
  return {
    name: optional(options, 'name'),
    currency: optional(options, 'currency'),
    monthlyPrice: optional(options, 'monthly-price'),
    hardQuota: hardQuota === undefined ? undefined : hardQuota === 'true',
    monthlyTokens: cap('monthly-tokens'),
    requestsPerMinute: cap('requests-per-minute'),
    tokensPerMinute: cap('tokens-per-minute'),
    requestsPerHour: cap('requests-per-hour'),
    requestsPerMonth: cap('requests-per-month'),
    concurrentRequests: cap('concurrent-requests'),
    overagePerMillion: optional(options, 'overage-per-million'),
    overageTiers: tiers === undefined ? undefined : parseTiers(tiers),
  };
}

/** "10000000:7.00,rest:5.50" -> tiers; the service checks their order and prices. */
function parseTiers(value: string): PriceTier[] {
  return value.split(',').map((part) => {
    const match = /^\s*(\d+|rest)\s*:\s*(\S+)\s*$/.exec(part);
    if (!match) throw new UsageError(`--overage-tiers must be UP_TO:PRICE,...,rest:PRICE, e.g. 10000000:7.00,rest:5.50 (got "${part}")`);
    return { upToTokens: match[1] === 'rest' ? null : Number(match[1]), perMillion: match[2]! };
  });
}

async function planJson(db: Parameters<typeof findPlanPrices>[0], plans: PlanRow[]) {
  const prices = await findPlanPrices(db, plans.map((plan) => plan.id));
  return plans.map((plan) => {
    const price = priceInForce(prices.filter((p) => p.plan_id === plan.id), Date.now());
    return {
      id: plan.id,
      name: plan.name,
      currency: price?.currency ?? null,
      monthlyPrice: price?.monthly_price ?? null,
      overageTiers: price?.overage_tiers ?? [],
      monthlyTokens: plan.monthly_tokens,
      requestsPerMinute: plan.requests_per_minute,
      tokensPerMinute: plan.tokens_per_minute,
      requestsPerHour: plan.requests_per_hour,
      requestsPerMonth: plan.requests_per_month,
      concurrentRequests: plan.concurrent_requests,
      hardQuota: plan.hard_quota,
      retiredAt: plan.retired_at?.toISOString() ?? null,
    };
  });
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: Options): Values {
  return parseWithPositionals(args, options, false).values;
}

function parseWithPositionals(args: string[], options: Options, allowPositionals = true): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals });
    return { values: values as Values, positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const option = /'([^']+)'/.exec((error as Error).message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${option ?? ''}`.trim());
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument ${option ?? ''}`.trim());
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError((error as Error).message.split('\n')[0] ?? 'invalid option value');
    throw error;
  }
}

function optional(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function required(values: Values, name: string): string {
  const value = optional(values, name);
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

function parseExpiry(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = parseTime('--expires', value);
  if (date.getTime() <= Date.now()) throw new UsageError(`--expires must be in the future (got ${date.toISOString()})`);
  return date;
}

function parseTime(option: string, value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`${option} must be an ISO 8601 date or time with a zone, e.g. 2027-01-01T00:00:00Z (got "${value}")`);
  }
  return date;
}

async function setTenantStatus(args: string[], loadConfig: () => Config, change: 'suspend' | 'reactivate'): Promise<number> {
  const { values: options, positionals } = parseWithPositionals(args, { json: { type: 'boolean' } });
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) throw new UsageError('give exactly one tenant id');
  return withServices(loadConfig, async ({ tenants }) => {
    const tenant = await tenants[change](actor(), id);
    print(options.json ? JSON.stringify(tenantJson(tenant)) : `tenant ${tenant.id} "${tenant.name}" is ${tenant.status}`);
    return 0;
  });
}

async function withServices(
  loadConfig: () => Config,
  body: (services: { tenants: TenantService; apiKeys: ApiKeyService; plans: PlanService; db: SqlDatabase }) => Promise<number>,
): Promise<number> {
  const deps = await createAdminDeps(loadConfig(), createLogger('error'));
  try {
    return await body({ tenants: deps.tenants, apiKeys: deps.apiKeys, plans: deps.plans, db: deps.db.db });
  } finally {
    await deps.close();
  }
}

const print = (line: string) => process.stdout.write(`${line}\n`);

function tenantJson(tenant: TenantRow) {
  return { id: tenant.id, name: tenant.name, plan: tenant.plan_id, status: tenant.status, createdAt: tenant.created_at.toISOString() };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
