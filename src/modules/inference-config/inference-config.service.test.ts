import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../../test/testkit/fake-upstream.ts';
import { openMigrated, sqlDialects } from '../../../test/testkit/sql-databases.ts';
import { inferenceFileSchema, type InferenceConfigFile } from '../../config.ts';
import { createLogger } from '../../shared/logger.ts';
import { keyringFromSecrets, SecretBox } from '../../shared/secret-box.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import { listAuditEntries } from '../audit/audit.repository.ts';
import type { Principal } from '../identity/principal.ts';
import { TenantService } from '../tenant/tenant.service.ts';
import { rotateCredentials } from './credential-rotation.ts';
import { findProviderCredential } from './inference-config.repository.ts';
import { InferenceConfigService } from './inference-config.service.ts';

const platform: Principal = { kind: 'platform', tenantId: undefined, userId: undefined };
const as = (principal: Principal) => ({ principal, requestId: 'req_test' });
const adminUser = (tenantId: string): Principal => ({ kind: 'user', tenantId, userId: 'alice', role: 'admin', expiresAt: undefined });
const memberUser = (tenantId: string): Principal => ({ kind: 'user', tenantId, userId: 'bob', role: 'member', expiresAt: undefined });

const oldSecret = 'the-old-secret-0123456789';
const newSecret = 'the-new-secret-0123456789';
const apiKey = 'sk-tenant-own-key-7f3a9c2e41d8';

function inferenceFile(upstream: FakeUpstream): InferenceConfigFile {
  return inferenceFileSchema.parse({
    providers: [
      { name: 'gpu-a', type: 'openai', baseUrl: upstream.openaiBaseUrl },
      { name: 'local', type: 'ollama', baseUrl: upstream.url },
    ],
    models: [
      { name: 'qwen-7b', deployments: [{ provider: 'gpu-a', model: 'Qwen/Qwen2.5-7B' }] },
      { name: 'llama-8b', deployments: [{ provider: 'local', model: 'llama3:8b' }] },
    ],
  });
}

describe.each(sqlDialects())('InferenceConfigService on $name', (dialect) => {
  let db: SqlDatabase;
  let dispose: () => Promise<void>;
  let upstream: FakeUpstream;
  let service: InferenceConfigService;
  let tenantA: string;
  let tenantB: string;
  const logs: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString('utf8'));
        callback();
      },
    }),
  );
  const makeService = (box: SecretBox, cacheTtlMs = 5_000) => {
    const inference = inferenceFile(upstream);
    return new InferenceConfigService({ db, secretBox: box, inference: () => inference, logger, cacheTtlMs, testTimeoutMs: 2_000 });
  };

  beforeAll(async () => {
    upstream = await startFakeUpstream({ models: ['Qwen/Qwen2.5-7B', 'llama3:8b'] });
    const opened = await openMigrated(dialect);
    db = opened.handle.db;
    dispose = opened.dispose;
    service = makeService(new SecretBox(keyringFromSecrets(oldSecret)));
    const tenants = new TenantService(db);
    tenantA = (await tenants.create(as(platform), { name: 'Acme' })).id;
    tenantB = (await tenants.create(as(platform), { name: 'Globex' })).id;
  });
  afterAll(async () => {
    await dispose?.();
    await upstream?.close();
  });

  describe('provider credentials', () => {
    it('lists every configured provider as not configured at first', async () => {
      expect(await service.credentialStatuses(memberUser(tenantA), tenantA)).toEqual([
        { provider: 'gpu-a', configured: false, last4: null, updatedAt: null },
        { provider: 'local', configured: false, last4: null, updatedAt: null },
      ]);
    });

    it('stores a key encrypted, shows only its last four characters, and audits the change without it', async () => {
      const status = await service.setCredential(as(adminUser(tenantA)), { tenantId: tenantA, provider: 'gpu-a', apiKey: `  ${apiKey} ` });
      expect(status).toEqual({ provider: 'gpu-a', configured: true, last4: '41d8', updatedAt: expect.any(Date) });
      const row = await findProviderCredential(db, tenantA, 'gpu-a');
      expect(row).toBeDefined();
      expect(JSON.stringify(row)).not.toContain(apiKey);
      expect(Buffer.from(row!.ciphertext, 'base64').toString('latin1')).not.toContain(apiKey);
      expect(Buffer.from(row!.nonce, 'base64')).toHaveLength(12);
      const [audit] = await listAuditEntries(db, { tenantId: tenantA, limit: 1 });
      expect(audit).toMatchObject({ action: 'provider_credential.set', target: 'gpu-a', actor_type: 'user', actor_id: 'alice', request_id: 'req_test' });
      expect(JSON.stringify(audit)).not.toContain(apiKey);
    });

    it('uses a fresh nonce each time the same key is set', async () => {
      const before = await findProviderCredential(db, tenantA, 'gpu-a');
      await service.setCredential(as(platform), { tenantId: tenantA, provider: 'gpu-a', apiKey });
      const after = await findProviderCredential(db, tenantA, 'gpu-a');
      expect(after!.nonce).not.toBe(before!.nonce);
      expect(after!.ciphertext).not.toBe(before!.ciphertext);
    });

    it('hands the router the decrypted key, and sees a change at once', async () => {
      const cached = makeService(new SecretBox(keyringFromSecrets(oldSecret)), 60_000);
      const prefs = await cached.routingPrefs(tenantA);
      expect(prefs).toEqual({ autoFailover: true, cacheEnabled: false, credentials: { 'gpu-a': apiKey }, planId: 'free' });
      expect(await cached.routingPrefs(tenantA)).toBe(prefs);
      await cached.setCredential(as(platform), { tenantId: tenantA, provider: 'local', apiKey: 'ollama-key-0123456789' });
      expect((await cached.routingPrefs(tenantA)).credentials).toEqual({ 'gpu-a': apiKey, local: 'ollama-key-0123456789' });
      await cached.removeCredential(as(platform), tenantA, 'local');
      expect((await cached.routingPrefs(tenantA)).credentials).toEqual({ 'gpu-a': apiKey });
      expect(Object.isFrozen(prefs)).toBe(true);
    });

    it('serves from memory until the TTL passes when another instance changed it', async () => {
      const ours = makeService(new SecretBox(keyringFromSecrets(oldSecret)), 150);
      expect((await ours.routingPrefs(tenantB)).credentials).toBeUndefined();
      const theirs = makeService(new SecretBox(keyringFromSecrets(oldSecret)));
      await theirs.setCredential(as(platform), { tenantId: tenantB, provider: 'gpu-a', apiKey: 'globex-key-0123456789' });
      expect((await ours.routingPrefs(tenantB)).credentials).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await ours.routingPrefs(tenantB)).credentials).toEqual({ 'gpu-a': 'globex-key-0123456789' });
    });

    it('hides the last four characters of a short key', async () => {
      const status = await service.setCredential(as(platform), { tenantId: tenantB, provider: 'local', apiKey: 'short123' });
      expect(status.last4).toBeNull();
      expect(status.configured).toBe(true);
    });

    it('refuses an unknown provider by name, and an empty or multi-word key without quoting it', async () => {
      await expect(service.setCredential(as(platform), { tenantId: tenantA, provider: 'openai', apiKey })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringContaining('"openai"'),
      });
      await expect(service.setCredential(as(platform), { tenantId: tenantA, provider: 'gpu-a', apiKey: '   ' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      const error = await service.setCredential(as(platform), { tenantId: tenantA, provider: 'gpu-a', apiKey: 'two words-secret' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect((error as Error).message).not.toContain('words-secret');
      await expect(service.removeCredential(as(platform), tenantA, 'nope')).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('"nope"') });
      await expect(service.testCredential(as(platform), tenantA, 'nope')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });

    it('lets members read the status but not change or test keys; another tenant is NOT_FOUND', async () => {
      await expect(service.setCredential(as(memberUser(tenantA)), { tenantId: tenantA, provider: 'gpu-a', apiKey })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.removeCredential(as(memberUser(tenantA)), tenantA, 'gpu-a')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.testCredential(as(memberUser(tenantA)), tenantA, 'gpu-a')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.credentialStatuses(adminUser(tenantB), tenantA)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(service.setCredential(as(adminUser(tenantB)), { tenantId: tenantA, provider: 'gpu-a', apiKey })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(service.setCredential(as(platform), { tenantId: 'tnt_missing', provider: 'gpu-a', apiKey })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('tests a key with a real call to the provider, and reports a refusal without the key or the address', async () => {
      upstream.reset();
      const ok = await service.testCredential(as(adminUser(tenantA)), tenantA, 'gpu-a');
      expect(ok).toMatchObject({ provider: 'gpu-a', ok: true, message: expect.stringContaining('2 model') });
      expect(ok.latencyMs).toBeGreaterThanOrEqual(0);
      const call = upstream.requests.find((r) => r.path === '/v1/models');
      expect(call?.headers.authorization).toBe(`Bearer ${apiKey}`);

      upstream.setBehaviour({ fail: 401 });
      const refused = await service.testCredential(as(adminUser(tenantA)), tenantA, 'gpu-a');
      expect(refused).toMatchObject({ ok: false, message: expect.stringContaining('401') });
      expect(refused.message).not.toContain(apiKey);
      upstream.reset();

      const none = await service.testCredential(as(platform), tenantB, 'gpu-a').then(() => service.testCredential(as(platform), tenantA, 'local'));
      expect(none).toEqual({ provider: 'local', ok: false, message: 'no credential is set for provider "local"', latencyMs: 0 });
    });

    it('tests a key that is not stored, and stores nothing', async () => {
      upstream.reset();
      const unsaved = 'candidate-key-0123456789';
      const ok = await service.testCredential(as(adminUser(tenantA)), tenantA, 'local', unsaved);
      expect(ok).toMatchObject({ provider: 'local', ok: true });
      expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${unsaved}`);
      expect((await service.credentialStatuses(adminUser(tenantA), tenantA)).find((c) => c.provider === 'local')).toMatchObject({ configured: false });
      // The stored key of gpu-a is not used when another is given, nor replaced by it.
      upstream.setBehaviour({ fail: 401 });
      const refused = await service.testCredential(as(adminUser(tenantA)), tenantA, 'gpu-a', unsaved);
      expect(refused).toMatchObject({ ok: false, message: expect.stringContaining('401') });
      expect(refused.message).not.toContain(unsaved);
      expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${unsaved}`);
      upstream.reset();
      expect((await service.credentialStatuses(adminUser(tenantA), tenantA)).find((c) => c.provider === 'gpu-a')).toMatchObject({ configured: true, last4: apiKey.slice(-4) });
      // The same checks as a key being saved, and the same access rules.
      await expect(service.testCredential(as(adminUser(tenantA)), tenantA, 'gpu-a', 'two words')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(service.testCredential(as(memberUser(tenantA)), tenantA, 'gpu-a', unsaved)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.testCredential(as(adminUser(tenantB)), tenantA, 'gpu-a', unsaved)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(service.testCredential(as(platform), 'tnt_missing', 'gpu-a', unsaved)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(logs.join('\n')).not.toContain(unsaved);
    });

    it('reports an unreachable provider without revealing where it is', async () => {
      const unreachableInference = inferenceFileSchema.parse({ providers: [{ name: 'gpu-a', type: 'openai', baseUrl: 'http://127.0.0.1:1/v1' }] });
      const unreachable = new InferenceConfigService({
        db,
        secretBox: new SecretBox(keyringFromSecrets(oldSecret)),
        inference: () => unreachableInference,
        logger,
      });
      const result = await unreachable.testCredential(as(platform), tenantA, 'gpu-a');
      expect(result).toMatchObject({ ok: false, message: 'the provider cannot be reached' });
    });

    it('removes a key and audits it', async () => {
      expect(await service.removeCredential(as(adminUser(tenantB)), tenantB, 'local')).toEqual({
        removed: true,
        credential: { provider: 'local', configured: false, last4: null, updatedAt: null },
      });
      expect((await service.removeCredential(as(adminUser(tenantB)), tenantB, 'local')).removed).toBe(false);
      const [audit] = await listAuditEntries(db, { tenantId: tenantB, limit: 1 });
      expect(audit).toMatchObject({ action: 'provider_credential.remove', target: 'local' });
    });

    it('never writes a key to the log', () => {
      expect(logs.join('')).not.toContain(apiKey);
      expect(logs.join('')).not.toContain('globex-key-0123456789');
    });
  });

  describe('inference config', () => {
    it('reads the defaults before any change', async () => {
      expect(await service.getConfig(memberUser(tenantA), tenantA)).toEqual({
        tenantId: tenantA,
        preferredProvider: null,
        autoFailover: true,
        modelOverrides: [],
        allowedModels: null,
        cacheEnabled: false,
        updatedAt: null,
      });
    });

    it('updates only the fields given, checks them against the configuration, and audits the change', async () => {
      const updated = await service.updateConfig(as(adminUser(tenantA)), {
        tenantId: tenantA,
        preferredProvider: 'local',
        modelOverrides: [{ model: 'gpt-4o', target: 'qwen-7b' }],
        allowedModels: ['gpt-4o', 'llama-8b', 'llama-8b'],
      });
      expect(updated).toMatchObject({
        preferredProvider: 'local',
        autoFailover: true,
        modelOverrides: [{ model: 'gpt-4o', target: 'qwen-7b' }],
        allowedModels: ['gpt-4o', 'llama-8b'],
        cacheEnabled: false,
        updatedAt: expect.any(Date),
      });
      const next = await service.updateConfig(as(platform), { tenantId: tenantA, autoFailover: false, cacheEnabled: true });
      expect(next).toMatchObject({ preferredProvider: 'local', autoFailover: false, cacheEnabled: true, allowedModels: ['gpt-4o', 'llama-8b'] });
      const [audit] = await listAuditEntries(db, { tenantId: tenantA, limit: 1 });
      expect(audit).toMatchObject({ action: 'inference_config.update', target: tenantA, actor_type: 'platform' });
      expect(audit!.details).toEqual({ autoFailover: false, cacheEnabled: true });
    });

    it('gives the router the same settings, refreshed on update', async () => {
      expect(await service.routingPrefs(tenantA)).toEqual({
        preferredProvider: 'local',
        autoFailover: false,
        modelOverrides: { 'gpt-4o': 'qwen-7b' },
        allowedModels: ['gpt-4o', 'llama-8b'],
        cacheEnabled: true,
        credentials: { 'gpu-a': apiKey },
        planId: 'free',
      });
      await service.updateConfig(as(platform), { tenantId: tenantA, preferredProvider: null, allowedModels: null, modelOverrides: null, autoFailover: null });
      expect(await service.routingPrefs(tenantA)).toEqual({ autoFailover: true, cacheEnabled: true, credentials: { 'gpu-a': apiKey }, planId: 'free' });
    });

    it('refuses unknown providers and models by name, duplicate overrides, and allowed names that are neither', async () => {
      const bad = (input: Parameters<InferenceConfigService['updateConfig']>[1], pattern: RegExp) =>
        expect(service.updateConfig(as(platform), input)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(pattern) });
      await bad({ tenantId: tenantA, preferredProvider: 'gpu-z' }, /unknown provider "gpu-z"/);
      await bad({ tenantId: tenantA, modelOverrides: [{ model: 'x', target: 'gpt-5' }] }, /unknown model "gpt-5"/);
      await bad({ tenantId: tenantA, modelOverrides: [{ model: 'x', target: 'qwen-7b' }, { model: 'x', target: 'llama-8b' }] }, /overridden twice/);
      await bad({ tenantId: tenantA, allowedModels: ['mystery'] }, /unknown model "mystery"/);
      await bad({ tenantId: tenantA, modelOverrides: [{ model: ' ', target: 'qwen-7b' }] }, /1 to 200 characters/);
    });

    it('lets members read but not update; another tenant is NOT_FOUND', async () => {
      await expect(service.updateConfig(as(memberUser(tenantA)), { tenantId: tenantA, cacheEnabled: false })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.getConfig(memberUser(tenantB), tenantA)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(service.updateConfig(as(adminUser(tenantB)), { tenantId: tenantA, cacheEnabled: false })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(service.updateConfig(as(platform), { tenantId: 'tnt_missing', cacheEnabled: false })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('key rotation', () => {
    it('re-encrypts every credential with the new key; old rows decrypt with the old key before it', async () => {
      const oldBox = new SecretBox(keyringFromSecrets(oldSecret));
      const before = await findProviderCredential(db, tenantA, 'gpu-a');
      expect(before!.key_id).toBe(oldBox.currentKeyId);
      expect((await service.routingPrefs(tenantA)).credentials).toEqual({ 'gpu-a': apiKey });

      const newOnly = makeService(new SecretBox(keyringFromSecrets(newSecret)));
      expect((await newOnly.keyReport()).unreadable.get(oldBox.currentKeyId)).toBeGreaterThan(0);
      expect((await newOnly.routingPrefs(tenantA)).credentials).toBeUndefined();

      const rotatingBox = new SecretBox(keyringFromSecrets(newSecret, [oldSecret]));
      const report = await rotateCredentials(db, rotatingBox);
      expect(report).toMatchObject({ currentKeyId: rotatingBox.currentKeyId, failed: [] });
      expect(report.reencrypted).toBeGreaterThanOrEqual(2);
      const after = await findProviderCredential(db, tenantA, 'gpu-a');
      expect(after!.key_id).toBe(rotatingBox.currentKeyId);
      expect(after!.nonce).not.toBe(before!.nonce);

      const rotated = makeService(new SecretBox(keyringFromSecrets(newSecret)));
      expect((await rotated.routingPrefs(tenantA)).credentials).toEqual({ 'gpu-a': apiKey });
      expect((await rotated.keyReport()).unreadable.size).toBe(0);
      expect(await rotateCredentials(db, rotatingBox)).toMatchObject({ reencrypted: 0, failed: [] });
      const [audit] = await listAuditEntries(db, { limit: 1 });
      expect(audit).toMatchObject({ action: 'secrets.rotate', actor_type: 'cli', tenant_id: null });
    });

    it('leaves credentials it cannot open untouched and names them', async () => {
      const stranger = new SecretBox(keyringFromSecrets('a-stranger-secret-0123456789'));
      const report = await rotateCredentials(db, stranger);
      expect(report.reencrypted).toBe(0);
      expect(report.failed).toContainEqual({ tenantId: tenantA, provider: 'gpu-a', keyId: new SecretBox(keyringFromSecrets(newSecret)).currentKeyId });
    });
  });
});
