import { performance } from 'node:perf_hooks';
import type { LRUCache } from 'lru-cache';
import { growingLru } from '../../shared/growing-lru.ts';
import type { Broadcast } from '../../shared/broadcast.ts';
import type { InferenceConfigFile, ProviderConfig } from '../../config.ts';
import type { LlmProvider } from '../../providers/provider.ts';
import { ProviderError } from '../../providers/provider-error.ts';
import { createProvider, type ProviderSettings } from '../../providers/registry.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { SecretBoxError, type SecretBox } from '../../shared/secret-box.ts';
import { isDatabaseUnavailable } from '../../storage/database-outage.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { recordAudit } from '../audit/index.ts';
import { requireTenantAdmin, requireTenantRead } from '../identity/index.ts';
import type { Principal } from '../identity/index.ts';
import { findTenantById } from '../tenant/index.ts';
import type { Actor } from '../tenant/index.ts';
import {
  countCredentialsByKeyId,
  deleteProviderCredential,
  findInferenceConfig,
  findProviderCredential,
  listProviderCredentials,
  upsertInferenceConfig,
  upsertProviderCredential,
} from './inference-config.repository.ts';
import type { InferenceConfigRow, ProviderCredentialRow } from './inference-config.table.ts';

/** What the router needs to know about a tenant on every request. */
export interface TenantRoutingPrefs {
  /** Deployments on this provider are tried first. */
  preferredProvider?: string;
  /** Off: a failed request is not retried on another deployment. */
  autoFailover: boolean;
  /** Requested model name -> the configured model that serves it for this tenant. */
  modelOverrides?: Record<string, string>;
  /** When set, only these requested names are served. */
  allowedModels?: string[];
  cacheEnabled: boolean;
  /** Provider name -> the tenant's own API key for it, decrypted. */
  credentials?: Record<string, string>;
  /** The tenant's plan, which route rules may look at. */
  planId?: string;
}

export interface ModelOverride {
  model: string;
  target: string;
}

export interface InferenceConfigView {
  tenantId: string;
  preferredProvider: string | null;
  autoFailover: boolean;
  modelOverrides: ModelOverride[];
  allowedModels: string[] | null;
  cacheEnabled: boolean;
  /** Null while the tenant runs on the defaults. */
  updatedAt: Date | null;
}

/** Omitted fields stay as they are; null puts a field back to its default. */
export interface UpdateInferenceConfigInput {
  tenantId: string;
  preferredProvider?: string | null;
  autoFailover?: boolean | null;
  modelOverrides?: readonly ModelOverride[] | null;
  allowedModels?: readonly string[] | null;
  cacheEnabled?: boolean | null;
}

/** Everything about a stored credential that may be shown: never the key. */
export interface ProviderCredentialStatus {
  provider: string;
  configured: boolean;
  last4: string | null;
  updatedAt: Date | null;
}

export interface CredentialTestResult {
  provider: string;
  ok: boolean;
  message: string;
  latencyMs: number;
}

export interface CredentialKeyReport {
  currentKeyId: string;
  /** Credentials per key id that this instance can open, the current key included. */
  readable: Map<string, number>;
  /** Credentials per key id that no key in the keyring opens. */
  unreadable: Map<string, number>;
}

export interface InferenceConfigServiceOptions {
  db: SqlDatabase;
  secretBox: SecretBox;
  /** The inference config in force; read on each use, so a reload is seen at once. */
  inference: () => InferenceConfigFile;
  logger: Logger;
  /** Changes made here are announced over it, so every instance drops what it remembers of the tenant at once. */
  broadcast?: Broadcast;
  /** How long routingPrefs answers from memory; a change made on this instance invalidates at once. */
  cacheTtlMs?: number;
  /** While the database is unreachable, a tenant's settings read at most this long ago are still used (default 0: none). */
  outageGraceMs?: number;
  /** How long a credential test waits for the provider. */
  testTimeoutMs?: number;
  /** Builds the adapter a credential test calls. */
  createProvider?: (config: ProviderConfig, settings: ProviderSettings) => LlmProvider;
}

const defaults = { autoFailover: true, cacheEnabled: false } as const;

/** Tenant ids whose inference config or credentials changed. */
const changedTopic = 'inference-config-changed';
const maxApiKeyLength = 4096;
const maxOverrides = 200;
const maxModelNameLength = 200;
// A short key is not shown at all: four characters of an eight-character key would be half of it.
const minLengthToShowLast4 = 12;

/** Authenticated with each sealed credential, so a ciphertext copied to another row does not open. */
export const credentialContext = (tenantId: string, provider: string) => `provider_credential/${tenantId}/${provider}`;

export class InferenceConfigService {
  readonly #db: SqlDatabase;
  readonly #box: SecretBox;
  readonly #inference: () => InferenceConfigFile;
  readonly #logger: Logger;
  readonly #testTimeoutMs: number;
  readonly #createProvider: (config: ProviderConfig, settings: ProviderSettings) => LlmProvider;
  readonly #prefs: LRUCache<string, Promise<TenantRoutingPrefs>>;
  /** The last settings read of each tenant, for an outage of the database; a change forgets them. */
  readonly #lastRead: LRUCache<string, TenantRoutingPrefs> | undefined;
  readonly #broadcast: Broadcast | undefined;

  constructor(options: InferenceConfigServiceOptions) {
    this.#db = options.db;
    this.#box = options.secretBox;
    this.#inference = options.inference;
    this.#broadcast = options.broadcast;
    this.#logger = options.logger;
    this.#testTimeoutMs = options.testTimeoutMs ?? 10_000;
    this.#createProvider = options.createProvider ?? createProvider;
    this.#prefs = growingLru(10_000, { ttl: options.cacheTtlMs ?? 5_000 });
    this.#lastRead = options.outageGraceMs ? growingLru(10_000, { ttl: options.outageGraceMs }) : undefined;
    options.broadcast?.subscribe(changedTopic, (tenantId) => this.invalidate(tenantId));
  }

  async getConfig(principal: Principal, tenantId: string): Promise<InferenceConfigView> {
    requireTenantRead(principal, tenantId);
    return toView(tenantId, await findInferenceConfig(this.#db, tenantId));
  }

  async updateConfig(actor: Actor, input: UpdateInferenceConfigInput): Promise<InferenceConfigView> {
    const { tenantId } = input;
    requireTenantAdmin(actor.principal, tenantId);
    const view = await this.#db.transaction().execute(async (trx) => {
      if (!(await findTenantById(trx, tenantId))) throw notFound('tenant', tenantId);
      const current = toView(tenantId, await findInferenceConfig(trx, tenantId));
      const changes: Record<string, unknown> = {};
      if (input.preferredProvider !== undefined) {
        if (input.preferredProvider !== null) this.#requireProvider(input.preferredProvider, 'preferredProvider');
        changes.preferredProvider = input.preferredProvider;
      }
      if (input.autoFailover !== undefined) changes.autoFailover = input.autoFailover ?? defaults.autoFailover;
      if (input.cacheEnabled !== undefined) changes.cacheEnabled = input.cacheEnabled ?? defaults.cacheEnabled;
      if (input.modelOverrides !== undefined) changes.modelOverrides = this.#validOverrides(input.modelOverrides ?? []);
      const next = { ...current, ...changes } as InferenceConfigView;
      if (input.allowedModels !== undefined) {
        changes.allowedModels = input.allowedModels === null ? null : this.#validAllowedModels(input.allowedModels, next.modelOverrides);
        next.allowedModels = changes.allowedModels as string[] | null;
      }
      const row = await upsertInferenceConfig(trx, {
        tenant_id: tenantId,
        preferred_provider: next.preferredProvider,
        auto_failover: next.autoFailover,
        model_overrides: JSON.stringify(Object.fromEntries(next.modelOverrides.map((o) => [o.model, o.target]))),
        allowed_models: next.allowedModels,
        cache_enabled: next.cacheEnabled,
      });
      await recordAudit(trx, actor, { tenantId, action: 'inference_config.update', target: tenantId, details: changes });
      return toView(tenantId, row);
    });
    await this.#changed(tenantId);
    return view;
  }

  /** One entry per provider of the YAML, then any stored for a provider since removed from it. */
  async credentialStatuses(principal: Principal, tenantId: string): Promise<ProviderCredentialStatus[]> {
    requireTenantRead(principal, tenantId);
    const rows = new Map((await listProviderCredentials(this.#db, tenantId)).map((row) => [row.provider, row]));
    const configured = this.#inference().providers.map((p) => p.name);
    const statuses = configured.map((provider) => toStatus(provider, rows.get(provider)));
    for (const [provider, row] of rows) if (!configured.includes(provider)) statuses.push(toStatus(provider, row));
    return statuses;
  }

  /** Stores (or replaces) the tenant's key for a provider. Write-only: nothing returns the key again. */
  async setCredential(actor: Actor, input: { tenantId: string; provider: string; apiKey: string }): Promise<ProviderCredentialStatus> {
    const { tenantId, provider } = input;
    requireTenantAdmin(actor.principal, tenantId);
    this.#requireProvider(provider, 'provider');
    const apiKey = validApiKey(input.apiKey);
    const sealed = this.#box.seal(apiKey, credentialContext(tenantId, provider));
    const row = await this.#db.transaction().execute(async (trx) => {
      if (!(await findTenantById(trx, tenantId))) throw notFound('tenant', tenantId);
      const replaced = (await findProviderCredential(trx, tenantId, provider)) !== undefined;
      const stored = await upsertProviderCredential(trx, {
        tenant_id: tenantId,
        provider,
        key_id: sealed.keyId,
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        last4: apiKey.length >= minLengthToShowLast4 ? apiKey.slice(-4) : '',
      });
      await recordAudit(trx, actor, { tenantId, action: 'provider_credential.set', target: provider, details: { provider, replaced } });
      return stored;
    });
    await this.#changed(tenantId);
    return toStatus(provider, row);
  }

  async removeCredential(actor: Actor, tenantId: string, provider: string): Promise<{ removed: boolean; credential: ProviderCredentialStatus }> {
    requireTenantAdmin(actor.principal, tenantId);
    const removed = await this.#db.transaction().execute(async (trx) => {
      const deleted = await deleteProviderCredential(trx, tenantId, provider);
      // A provider since removed from the YAML may still have a stored key to clean up.
      if (!deleted) this.#requireProvider(provider, 'provider');
      if (deleted) await recordAudit(trx, actor, { tenantId, action: 'provider_credential.remove', target: provider, details: { provider } });
      return deleted;
    });
    await this.#changed(tenantId);
    return { removed, credential: toStatus(provider, undefined) };
  }

  /** Calls the provider's cheapest endpoint (its model list) with the stored key and reports what happened. */
  /** Tests the stored key, or `unsavedKey` when given: a key checked before it is saved, and never stored or logged. */
  async testCredential(actor: Actor, tenantId: string, provider: string, unsavedKey?: string | null): Promise<CredentialTestResult> {
    requireTenantAdmin(actor.principal, tenantId);
    const config = this.#requireProvider(provider, 'provider');
    let apiKey: string;
    if (unsavedKey != null) {
      apiKey = validApiKey(unsavedKey);
      if (!(await findTenantById(this.#db, tenantId))) throw notFound('tenant', tenantId);
    } else {
      const row = await findProviderCredential(this.#db, tenantId, provider);
      if (!row) return { provider, ok: false, message: `no credential is set for provider "${provider}"`, latencyMs: 0 };
      try {
        apiKey = this.#open(row);
      } catch (error) {
        this.#logger.error({ err: error, tenantId, provider, requestId: actor.requestId }, 'stored provider credential cannot be decrypted');
        return { provider, ok: false, message: 'the stored credential cannot be decrypted with the configured keys; set it again', latencyMs: 0 };
      }
    }
    const adapter = this.#createProvider(config, { connectTimeoutMs: this.#inference().routing.timeoutsMs.connect });
    const started = performance.now();
    try {
      const models = await adapter.listModels({ apiKey, signal: AbortSignal.timeout(this.#testTimeoutMs), requestId: actor.requestId });
      const latencyMs = Math.round(performance.now() - started);
      this.#logger.info({ tenantId, provider, ok: true, unsaved: unsavedKey != null, latencyMs, requestId: actor.requestId }, 'provider credential tested');
      return { provider, ok: true, message: `${provider} accepted the credential and lists ${models.length} model(s)`, latencyMs };
    } catch (error) {
      const latencyMs = Math.round(performance.now() - started);
      const message = describeTestFailure(error, this.#testTimeoutMs).replaceAll(apiKey, '[redacted]');
      this.#logger.info({ tenantId, provider, ok: false, unsaved: unsavedKey != null, latencyMs, reason: message, requestId: actor.requestId }, 'provider credential tested');
      return { provider, ok: false, message, latencyMs };
    } finally {
      await adapter.close();
    }
  }

  /**
   * A tenant's routing settings and decrypted credentials, for the router on every request. Answers
   * from memory for a few seconds; changes are seen at once here, and on other instances once the
   * broadcast tells them, or else within the cache TTL.
   */
  routingPrefs(tenantId: string): Promise<TenantRoutingPrefs> {
    const cached = this.#prefs.get(tenantId);
    if (cached) return cached;
    const lastRead = this.#lastRead?.get(tenantId);
    const loading = this.#loadPrefs(tenantId).then(
      (prefs) => {
        this.#lastRead?.set(tenantId, prefs);
        return prefs;
      },
      (error: unknown) => {
        // Kept (as the cached answer) until the cache time runs out, so an outage is not asked about on every request.
        if (lastRead && isDatabaseUnavailable(error) && this.#lastRead?.get(tenantId) === lastRead) return lastRead;
        throw error;
      },
    );
    this.#prefs.set(tenantId, loading);
    loading.catch(() => {
      if (this.#prefs.get(tenantId) === loading) this.#prefs.delete(tenantId);
    });
    return loading;
  }

  /** Resolves once other instances have been told (Redis has the message), so the caller's next request anywhere sees the change. */
  async #changed(tenantId: string): Promise<void> {
    this.invalidate(tenantId);
    await this.#broadcast?.publish(changedTopic, tenantId).catch((error: unknown) => {
      this.#logger.warn({ err: error, tenantId }, 'could not announce an inference config change; other instances see it within seconds');
    });
  }

  /** Drops what routingPrefs remembers about a tenant (all tenants without an id). */
  invalidate(tenantId?: string): void {
    if (tenantId === undefined) {
      this.#prefs.clear();
      this.#lastRead?.clear();
    } else {
      this.#prefs.delete(tenantId);
      this.#lastRead?.delete(tenantId);
    }
  }

  /** Which keys sealed the stored credentials, and whether this instance can open them. */
  async keyReport(): Promise<CredentialKeyReport> {
    const readable = new Map<string, number>();
    const unreadable = new Map<string, number>();
    for (const [keyId, count] of await countCredentialsByKeyId(this.#db)) {
      (this.#box.canOpen(keyId) ? readable : unreadable).set(keyId, count);
    }
    return { currentKeyId: this.#box.currentKeyId, readable, unreadable };
  }

  /** At start-up: says which stored credentials this instance cannot open, and which await a rotation. */
  async logKeyReport(): Promise<void> {
    const report = await this.keyReport();
    if (report.unreadable.size > 0) {
      this.#logger.error(
        { unreadable: Object.fromEntries(report.unreadable), currentKeyId: report.currentKeyId },
        'some provider credentials were sealed with keys this instance lacks: set TOLLGATE_SECRET_PREVIOUS to the secret that sealed them',
      );
    }
    const older = [...report.readable].filter(([keyId]) => keyId !== report.currentKeyId);
    if (older.length > 0) {
      this.#logger.info(
        { byKeyId: Object.fromEntries(older), currentKeyId: report.currentKeyId },
        'some provider credentials use a previous key: run `tollgate secrets rotate` to re-encrypt them',
      );
    }
  }

  async #loadPrefs(tenantId: string): Promise<TenantRoutingPrefs> {
    const [row, credentialRows, tenant] = await Promise.all([findInferenceConfig(this.#db, tenantId), listProviderCredentials(this.#db, tenantId), findTenantById(this.#db, tenantId)]);
    const prefs: TenantRoutingPrefs = {
      autoFailover: row?.auto_failover ?? defaults.autoFailover,
      cacheEnabled: row?.cache_enabled ?? defaults.cacheEnabled,
    };
    if (tenant) prefs.planId = tenant.plan_id;
    if (row?.preferred_provider) prefs.preferredProvider = row.preferred_provider;
    if (row && Object.keys(row.model_overrides).length > 0) prefs.modelOverrides = Object.freeze({ ...row.model_overrides });
    if (row?.allowed_models) prefs.allowedModels = Object.freeze([...row.allowed_models]) as string[];
    const credentials: Record<string, string> = {};
    for (const credential of credentialRows) {
      try {
        credentials[credential.provider] = this.#open(credential);
      } catch (error) {
        // Routing goes on with the provider's own key; the operator is told which key is missing.
        this.#logger.error({ err: error, tenantId, provider: credential.provider, keyId: credential.key_id }, 'stored provider credential cannot be decrypted');
      }
    }
    if (Object.keys(credentials).length > 0) prefs.credentials = Object.freeze(credentials);
    return Object.freeze(prefs);
  }

  #open(row: ProviderCredentialRow): string {
    return this.#box.open({ keyId: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext }, credentialContext(row.tenant_id, row.provider));
  }

  #requireProvider(name: string, field: string): ProviderConfig {
    const { providers } = this.#inference();
    const config = providers.find((p) => p.name === name);
    if (!config) {
      const known = providers.map((p) => p.name).join(', ') || 'none';
      throw badInput(`unknown provider "${name}" (configured: ${known})`, { field });
    }
    return config;
  }

  #requireModel(name: string, field: string): void {
    // An override may send a name to a route as well as to a model.
    const { models: configured, routes } = this.#inference();
    const models = [...configured.map((m) => m.name), ...routes.map((r) => r.name)];
    if (!models.includes(name)) {
      throw badInput(`unknown model "${name}" (configured: ${models.join(', ') || 'none'})`, { field });
    }
  }

  #validOverrides(overrides: readonly ModelOverride[]): ModelOverride[] {
    if (overrides.length > maxOverrides) throw badInput(`at most ${maxOverrides} model overrides`, { field: 'modelOverrides' });
    const seen = new Set<string>();
    const valid = overrides.map(({ model, target }) => {
      const name = model.trim();
      if (name.length === 0 || name.length > maxModelNameLength) {
        throw badInput(`an overridden model name must be 1 to ${maxModelNameLength} characters`, { field: 'modelOverrides' });
      }
      if (seen.has(name)) throw badInput(`model "${name}" is overridden twice`, { field: 'modelOverrides' });
      seen.add(name);
      this.#requireModel(target, 'modelOverrides');
      return { model: name, target };
    });
    return valid.sort((a, b) => a.model.localeCompare(b.model));
  }

  /** Each allowed name is a configured model or one of the tenant's overridden names. */
  #validAllowedModels(names: readonly string[], overrides: readonly ModelOverride[]): string[] {
    const aliases = new Set(overrides.map((o) => o.model));
    const unique = [...new Set(names)];
    for (const name of unique) if (!aliases.has(name)) this.#requireModel(name, 'allowedModels');
    return unique;
  }
}

function toView(tenantId: string, row: InferenceConfigRow | undefined): InferenceConfigView {
  if (!row) {
    return { tenantId, preferredProvider: null, ...defaults, modelOverrides: [], allowedModels: null, updatedAt: null };
  }
  return {
    tenantId,
    preferredProvider: row.preferred_provider,
    autoFailover: row.auto_failover,
    cacheEnabled: row.cache_enabled,
    modelOverrides: Object.entries(row.model_overrides)
      .map(([model, target]) => ({ model, target }))
      .sort((a, b) => a.model.localeCompare(b.model)),
    allowedModels: row.allowed_models,
    updatedAt: row.updated_at,
  };
}

function toStatus(provider: string, row: ProviderCredentialRow | undefined): ProviderCredentialStatus {
  return { provider, configured: row !== undefined, last4: row?.last4 || null, updatedAt: row?.updated_at ?? null };
}

function validApiKey(raw: string): string {
  const apiKey = raw.trim();
  // The messages never quote the key: a rejected one may still be a real secret.
  if (apiKey.length === 0) throw badInput('apiKey must not be empty', { field: 'apiKey' });
  if (apiKey.length > maxApiKeyLength) throw badInput(`apiKey must be at most ${maxApiKeyLength} characters`, { field: 'apiKey' });
  if (!/^[\x21-\x7e]+$/.test(apiKey)) throw badInput('apiKey must be printable ASCII without spaces', { field: 'apiKey' });
  return apiKey;
}

/** What a tenant admin may learn from a failed test: the provider's verdict, not the platform's network. */
function describeTestFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof SecretBoxError) return 'the stored credential cannot be decrypted';
  if (!(error instanceof ProviderError)) return 'the test failed unexpectedly';
  switch (error.kind) {
    case 'client': {
      // The upstream's own words (e.g. "invalid API key"), when the adapter kept them.
      const words = (error as { upstreamMessage?: unknown }).upstreamMessage;
      const detail = typeof words === 'string' && words ? `: ${words.slice(0, 200)}` : '';
      return `the provider refused the request (${error.status ?? 'error'})${detail}`;
    }
    case 'rate_limited':
      return 'the provider is rate limiting this credential (429)';
    case 'server':
      return `the provider failed (${error.status ?? 'server error'})`;
    case 'connect':
      return 'the provider cannot be reached';
    case 'timeout':
    case 'aborted':
      return `the provider did not answer within ${Math.round(timeoutMs / 1000)} s`;
    case 'protocol':
      return 'the provider answered with something unreadable';
  }
}
