import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, sqlDialects } from '../../../test/testkit/sql-databases.ts';
import type { Clock } from '../../shared/clock.ts';
import { sha256Hex } from '../../shared/digest.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';
import type { Principal } from '../identity/principal.ts';
import { createLocalRevocationBus } from './revocation-bus.ts';
import { TenantService } from '../tenant/tenant.service.ts';
import { apiKeyIdOf } from './api-key-secret.ts';
import { findApiKeyById, recordApiKeysLastUsed } from './api-key.repository.ts';
import { ApiKeyService } from './api-key.service.ts';

const platform: Principal = { kind: 'platform', tenantId: undefined, userId: 'ops' };
const as = (principal: Principal) => ({ principal, requestId: 'req_test' });
const adminUser = (tenantId: string): Principal => ({ kind: 'user', tenantId, userId: 'alice', role: 'admin', expiresAt: undefined });
const memberUser = (tenantId: string): Principal => ({ kind: 'user', tenantId, userId: 'bob', role: 'member', expiresAt: undefined });
const keyPrincipal = (tenantId: string, scopes: string[]): Principal => ({ kind: 'api-key', tenantId, keyId: 'k0000000', scopes, userId: undefined, expiresAt: undefined });
const firstPage = { limit: 100, after: undefined, before: undefined, inverted: false };

describe.each(sqlDialects())('ApiKeyService on $name', (dialect) => {
  let db: SqlDatabase;
  let dispose: () => Promise<void>;
  let keys: ApiKeyService;
  let tenantA: string;
  let tenantB: string;
  const published: string[] = [];
  const clock: Clock & { at: Date } = { at: new Date('2026-11-22T12:00:00Z'), now: () => new Date(clock.at) };

  beforeAll(async () => {
    const opened = await openMigrated(dialect);
    db = opened.handle.db;
    dispose = opened.dispose;
    const revocations = createLocalRevocationBus();
    revocations.subscribe({ evict: (id) => published.push(id), evictTenant: () => {}, evictAll: () => {} });
    keys = new ApiKeyService({ db, revocations, clock });
    const tenants = new TenantService(db);
    tenantA = (await tenants.create(as(platform), { name: 'Acme' })).id;
    tenantB = (await tenants.create(as(platform), { name: 'Globex' })).id;
  });
  afterAll(async () => dispose?.());

  it('creates a key whose secret is returned once and stored only as a digest', async () => {
    const { apiKey, secret } = await keys.create(as(platform), { tenantId: tenantA, name: '  ci  ' });
    expect(secret).toMatch(/^tg_[0-9a-z]{8}_[0-9a-z]{32}$/);
    expect(apiKeyIdOf(secret)).toBe(apiKey.id);
    expect(apiKey).toMatchObject({ tenant_id: tenantA, name: 'ci', scopes: ['inference', 'usage:read'], expires_at: null, revoked_at: null });
    const row = await findApiKeyById(db, apiKey.id);
    expect(row?.secret_hash).toBe(sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret.slice(12));
    const audit = await db.selectFrom('audit_log').selectAll().where('target', '=', apiKey.id).execute();
    expect(audit).toEqual([expect.objectContaining({ action: 'api_key.create', tenant_id: tenantA, actor_type: 'platform', actor_id: 'ops', request_id: 'req_test' })]);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('validates name, scopes and expiry', async () => {
    await expect(keys.create(as(platform), { tenantId: tenantA, name: ' ' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(keys.create(as(platform), { tenantId: tenantA, name: 'x', scopes: ['inference', 'root'] })).rejects.toThrow(/unknown scope "root"/);
    await expect(keys.create(as(platform), { tenantId: tenantA, name: 'x', scopes: [] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(keys.create(as(platform), { tenantId: tenantA, name: 'x', expiresAt: new Date('2026-11-22T11:00:00Z') })).rejects.toThrow(/future/);
    const { apiKey } = await keys.create(as(platform), {
      tenantId: tenantA,
      name: 'ordered',
      scopes: ['admin', 'inference', 'admin'],
      expiresAt: new Date('2027-01-01T00:00:00Z'),
    });
    expect(apiKey.scopes).toEqual(['inference', 'admin']);
    expect(apiKey.expires_at?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('lets only the platform, tenant admins and admin-scoped keys of that tenant manage keys', async () => {
    await expect(keys.create(as(adminUser(tenantA)), { tenantId: tenantA, name: 'by admin' })).resolves.toBeDefined();
    await expect(keys.create(as(keyPrincipal(tenantA, ['admin'])), { tenantId: tenantA, name: 'by key' })).resolves.toBeDefined();
    await expect(keys.create(as(memberUser(tenantA)), { tenantId: tenantA, name: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(keys.create(as(keyPrincipal(tenantA, ['inference'])), { tenantId: tenantA, name: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(keys.create(as(adminUser(tenantB)), { tenantId: tenantA, name: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(keys.create(as({ kind: 'anonymous' }), { tenantId: tenantA, name: 'x' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(keys.create(as(platform), { tenantId: 'tnt_missing', name: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("lists a tenant's keys in pages and hides them from other tenants", async () => {
    const all = await keys.list(platform, tenantA, firstPage);
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(all.every((key) => key.tenant_id === tenantA)).toBe(true);
    const [first, second] = all;
    const next = await keys.list(platform, tenantA, { ...firstPage, limit: 1, after: { createdAt: first!.created_at, id: first!.id } });
    expect(next.map((k) => k.id)).toEqual([second!.id]);
    await expect(keys.list(adminUser(tenantB), tenantA, firstPage)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(keys.list(memberUser(tenantA), tenantA, firstPage)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it("revokes once, announces it, and treats another tenant's key as not found", async () => {
    const { apiKey } = await keys.create(as(platform), { tenantId: tenantA, name: 'to revoke' });
    await expect(keys.revoke(as(adminUser(tenantB)), apiKey.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(keys.get(keyPrincipal(tenantB, ['admin']), apiKey.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(keys.revoke(as(memberUser(tenantA)), apiKey.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    published.length = 0;
    const revoked = await keys.revoke(as(adminUser(tenantA)), apiKey.id);
    expect(revoked.revoked_at?.toISOString()).toBe(clock.at.toISOString());
    expect(published).toEqual([apiKey.id]);
    clock.at = new Date(clock.at.getTime() + 60_000);
    const again = await keys.revoke(as(platform), apiKey.id);
    expect(again.revoked_at?.getTime()).toBe(revoked.revoked_at?.getTime());
    const audit = await db.selectFrom('audit_log').select('action').where('target', '=', apiKey.id).where('action', '=', 'api_key.revoke').execute();
    expect(audit).toHaveLength(1);
    await expect(keys.revoke(as(platform), 'nosuchid')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rotates: a new secret, the old digest kept with its grace deadline', async () => {
    const { apiKey, secret } = await keys.create(as(platform), { tenantId: tenantA, name: 'rotating' });
    published.length = 0;
    const now = clock.at.getTime();
    const rotated = await keys.rotate(as(platform), apiKey.id, { gracePeriodSeconds: 300 });
    expect(rotated.secret).not.toBe(secret);
    expect(apiKeyIdOf(rotated.secret)).toBe(apiKey.id);
    expect(rotated.apiKey.secret_hash).toBe(sha256Hex(rotated.secret));
    expect(rotated.apiKey.previous_secret_hash).toBe(sha256Hex(secret));
    expect(rotated.apiKey.previous_valid_until?.getTime()).toBe(now + 300_000);
    expect(published).toEqual([apiKey.id]);

    const immediate = await keys.rotate(as(platform), apiKey.id);
    expect(immediate.apiKey.previous_secret_hash).toBe(sha256Hex(rotated.secret));
    expect(immediate.apiKey.previous_valid_until?.getTime()).toBe(now);

    await expect(keys.rotate(as(platform), apiKey.id, { gracePeriodSeconds: -1 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(keys.rotate(as(platform), apiKey.id, { gracePeriodSeconds: 8 * 24 * 3600 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(keys.rotate(as(adminUser(tenantB)), apiKey.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await keys.revoke(as(platform), apiKey.id);
    await expect(keys.rotate(as(platform), apiKey.id)).rejects.toThrow(/revoked and cannot be rotated/);
  });

  it('records last use in one statement without moving it backwards', async () => {
    const one = (await keys.create(as(platform), { tenantId: tenantB, name: 'one' })).apiKey.id;
    const two = (await keys.create(as(platform), { tenantId: tenantB, name: 'two' })).apiKey.id;
    const later = new Date('2026-11-22T12:05:00.123Z');
    const earlier = new Date('2026-11-22T12:01:00Z');
    await recordApiKeysLastUsed(db, new Map([[one, later], [two, earlier]]));
    await recordApiKeysLastUsed(db, new Map([[one, earlier], ['missing1', later]]));
    expect((await findApiKeyById(db, one))?.last_used_at?.toISOString()).toBe(later.toISOString());
    expect((await findApiKeyById(db, two))?.last_used_at?.toISOString()).toBe(earlier.toISOString());
  });
});
