import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, sqlDialects } from '../../../test/testkit/sql-databases.ts';
import { startTcpProxy } from '../../../test/testkit/tcp-proxy.ts';
import type { Clock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/logger.ts';
import { openSqlDatabase, type SqlDatabase } from '../../storage/sql-database.ts';
import { migrateSql } from '../../storage/sql-migrations.ts';
import { findApiKeyById } from '../api-key/api-key.repository.ts';
import { ApiKeyService } from '../api-key/api-key.service.ts';
import { TenantService } from '../tenant/tenant.service.ts';
import { AuthService } from './auth.service.ts';
import type { Credentials, Principal } from '../identity/principal.ts';
import { createLocalRevocationBus, type RevocationBus } from '../api-key/revocation-bus.ts';

const adminKey = 'platform-admin-key-0123456789';
const jwtSecret = 'a-dashboard-jwt-secret-of-at-least-32-chars';
const platform: Principal = { kind: 'platform', tenantId: undefined, userId: undefined };
const as = (principal: Principal) => ({ principal, requestId: 'req_test' });
const bearer = (secret: string, extra: Partial<Credentials> = {}): Credentials => ({
  authorization: `Bearer ${secret}`,
  tenantId: undefined,
  userId: undefined,
  ...extra,
});
const logger = createLogger('silent');

describe.each(sqlDialects())('AuthService on $name', (dialect) => {
  let db: SqlDatabase;
  let dispose: () => Promise<void>;
  let revocations: RevocationBus;
  let auth: AuthService;
  let keys: ApiKeyService;
  let tenantA: string;
  let tenantB: string;
  const clock: Clock & { at: number } = { at: Date.parse('2026-11-22T12:00:00Z'), now: () => new Date(clock.at) };

  beforeAll(async () => {
    const opened = await openMigrated(dialect);
    db = opened.handle.db;
    dispose = opened.dispose;
    revocations = createLocalRevocationBus();
    auth = new AuthService({
      adminKey,
      db,
      logger,
      revocations,
      clock,
      jwt: { jwtSecret, jwtIssuer: 'https://id.example.com', jwtAudience: 'tollgate' },
      lastUsedFlushMs: 60_000,
    });
    keys = new ApiKeyService({ db, revocations, clock });
    const tenants = new TenantService(db);
    tenantA = (await tenants.create(as(platform), { name: 'Acme' })).id;
    tenantB = (await tenants.create(as(platform), { name: 'Globex' })).id;
  });
  afterAll(async () => {
    await auth?.close();
    await dispose?.();
  });

  describe('API keys', () => {
    it('resolves a key to its tenant and scopes, recording X-User-ID', async () => {
      const { apiKey, secret } = await keys.create(as(platform), { tenantId: tenantA, name: 'ci', scopes: ['inference'] });
      await expect(auth.authenticate(bearer(secret, { userId: 'end-user-7' }))).resolves.toEqual({
        kind: 'api-key',
        tenantId: tenantA,
        keyId: apiKey.id,
        scopes: ['inference'],
        userId: 'end-user-7',
      });
      await expect(auth.authenticate(bearer(secret, { tenantId: tenantA }))).resolves.toMatchObject({ tenantId: tenantA });
    });

    it('refuses a wrong or malformed secret without saying which part is wrong', async () => {
      const { secret } = await keys.create(as(platform), { tenantId: tenantA, name: 'ci' });
      const wrongTail = `${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`;
      for (const attempt of [wrongTail, 'tg_zzzzzzzz_0123456789abcdefghijklmnopqrstuv', 'tg_short', `${secret}x`]) {
        await expect(auth.authenticate(bearer(attempt))).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid API key' });
      }
      await expect(auth.authenticate({ authorization: 'Basic abc', tenantId: undefined, userId: undefined })).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
      });
    });

    it('serves verified keys from the cache until a revocation evicts them', async () => {
      const { apiKey, secret } = await keys.create(as(platform), { tenantId: tenantA, name: 'cached' });
      await auth.authenticate(bearer(secret));
      // Deleted behind the service's back: the cache still answers, so no request reads the database.
      await db.deleteFrom('api_key').where('id', '=', apiKey.id).execute();
      await expect(auth.authenticate(bearer(secret))).resolves.toMatchObject({ keyId: apiKey.id });
      await revocations.publish(apiKey.id);
      await expect(auth.authenticate(bearer(secret))).rejects.toThrow('invalid API key');
    });

    it('refuses a revoked key at once, saying so', async () => {
      const { apiKey, secret } = await keys.create(as(platform), { tenantId: tenantA, name: 'revoked' });
      await auth.authenticate(bearer(secret));
      await keys.revoke(as(platform), apiKey.id);
      await expect(auth.authenticate(bearer(secret))).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'this API key was revoked' });
    });

    it('refuses an expired key, naming when it expired', async () => {
      const expiresAt = new Date(clock.at + 60_000);
      const { secret } = await keys.create(as(platform), { tenantId: tenantA, name: 'short-lived', expiresAt });
      await expect(auth.authenticate(bearer(secret))).resolves.toMatchObject({ kind: 'api-key', expiresAt: expiresAt.getTime() });
      clock.at += 60_000;
      await expect(auth.authenticate(bearer(secret))).rejects.toThrow(`this API key expired at ${expiresAt.toISOString()}`);
    });

    it('accepts the previous secret only within the rotation grace period', async () => {
      const { apiKey, secret: original } = await keys.create(as(platform), { tenantId: tenantA, name: 'rotating' });
      await auth.authenticate(bearer(original));
      const graced = await keys.rotate(as(platform), apiKey.id, { gracePeriodSeconds: 30 });
      // The new secret does not expire; the previous one is accepted until its grace period ends.
      expect(await auth.authenticate(bearer(graced.secret))).toMatchObject({ keyId: apiKey.id, expiresAt: undefined });
      expect(await auth.authenticate(bearer(original))).toMatchObject({ keyId: apiKey.id, expiresAt: clock.at + 30_000 });
      clock.at += 30_000;
      await expect(auth.authenticate(bearer(original))).rejects.toThrow('this API key was rotated: its previous secret is no longer accepted');
      const immediate = await keys.rotate(as(platform), apiKey.id);
      await expect(auth.authenticate(bearer(graced.secret))).rejects.toThrow(/rotated/);
      await expect(auth.authenticate(bearer(immediate.secret))).resolves.toMatchObject({ keyId: apiKey.id });
    });

    it('refuses a tenant key that names another tenant with X-Tenant-ID', async () => {
      const { secret } = await keys.create(as(platform), { tenantId: tenantA, name: 'ci' });
      await expect(auth.authenticate(bearer(secret, { tenantId: tenantB }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });

    it('writes last use in batches, not per request', async () => {
      const { apiKey, secret } = await keys.create(as(platform), { tenantId: tenantB, name: 'used' });
      await auth.authenticate(bearer(secret));
      clock.at += 1_000;
      await auth.authenticate(bearer(secret));
      expect((await findApiKeyById(db, apiKey.id))?.last_used_at).toBeNull();
      await auth.flushLastUsed();
      expect((await findApiKeyById(db, apiKey.id))?.last_used_at?.getTime()).toBe(clock.at);
    });

    it('writes pending last use when it closes, as on shutdown', async () => {
      const { apiKey, secret } = await keys.create(as(platform), { tenantId: tenantB, name: 'closing' });
      const closing = new AuthService({ adminKey, db, logger, revocations, clock, lastUsedFlushMs: 60_000 });
      await closing.authenticate(bearer(secret));
      await closing.close();
      expect((await findApiKeyById(db, apiKey.id))?.last_used_at?.getTime()).toBe(clock.at);
    });

    it('verifies a cached key without reading the database', async () => {
      const { secret } = await keys.create(as(platform), { tenantId: tenantB, name: 'hot' });
      let queries = 0;
      const counted = db.withPlugin({
        transformQuery: (args) => {
          queries += 1;
          return args.node;
        },
        transformResult: async (args) => args.result,
      });
      const cached = new AuthService({ adminKey, db: counted, logger, revocations, clock, lastUsedFlushMs: 60_000 });
      try {
        const credentials = bearer(secret);
        await expect(cached.authenticate(credentials)).resolves.toMatchObject({ kind: 'api-key', tenantId: tenantB });
        const afterFirst = queries;
        expect(afterFirst).toBeGreaterThan(0);
        for (let i = 0; i < 100; i += 1) await cached.authenticate(credentials);
        expect(queries).toBe(afterFirst);
      } finally {
        await cached.close();
      }
    });
  });

  describe('the platform admin key', () => {
    it('acts for an existing tenant named with X-Tenant-ID, and 404s an unknown one', async () => {
      await expect(auth.authenticate(bearer(adminKey))).resolves.toEqual({ kind: 'platform', tenantId: undefined, userId: undefined });
      await expect(auth.authenticate(bearer(adminKey, { tenantId: tenantB, userId: 'u-1' }))).resolves.toEqual({
        kind: 'platform',
        tenantId: tenantB,
        userId: 'u-1',
      });
      await expect(auth.authenticate(bearer(adminKey, { tenantId: 'tnt_nope' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(auth.authenticate(bearer(adminKey, { userId: 'has spaces' }))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });

    it('is anonymous without credentials and refuses anything else', async () => {
      await expect(auth.authenticate({ authorization: undefined, tenantId: undefined, userId: undefined })).resolves.toEqual({ kind: 'anonymous' });
      await expect(auth.authenticate(bearer(`${adminKey}x`))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    });
  });

  describe('dashboard JWTs (HS256)', () => {
    const secretKey = new TextEncoder().encode(jwtSecret);
    const sign = (claims: Record<string, unknown>, options: { exp?: number; iss?: string; aud?: string; key?: Uint8Array; alg?: string; sub?: string } = {}) =>
      new SignJWT({ tid: tenantA, role: 'admin', ...claims })
        .setProtectedHeader({ alg: options.alg ?? 'HS256' })
        .setSubject(options.sub ?? 'user-1')
        .setIssuer(options.iss ?? 'https://id.example.com')
        .setAudience(options.aud ?? 'tollgate')
        .setIssuedAt(Math.floor(clock.at / 1000))
        .setExpirationTime(options.exp ?? Math.floor(clock.at / 1000) + 600)
        .sign(options.key ?? secretKey);

    it('resolves a valid token to a user of its tenant, with its expiry', async () => {
      const exp = Math.floor(clock.at / 1000) + 600;
      await expect(auth.authenticate(bearer(await sign({ role: 'member' }, { exp })))).resolves.toEqual({
        kind: 'user',
        tenantId: tenantA,
        userId: 'user-1',
        role: 'member',
        expiresAt: exp * 1000,
      });
    });

    it('says why a token is refused', async () => {
      const now = Math.floor(clock.at / 1000);
      const cases: [Promise<string> | string, RegExp][] = [
        [sign({}, { exp: now - 1 }), new RegExp(`this token expired at ${new Date((now - 1) * 1000).toISOString()}`)],
        [sign({}, { iss: 'https://evil.example.com' }), /issuer/],
        [sign({}, { aud: 'someone-else' }), /audience/],
        [sign({}, { key: new TextEncoder().encode('another-secret-of-at-least-32-characters') }), /signature/],
        [sign({}, { alg: 'HS512' }), /algorithm "HS512" is not accepted/],
        [sign({ role: 'owner' }), /"role" claim/],
        [sign({ tid: undefined }), /"tid"/],
        // Claims that would end up in usage events and audit rows, which cannot hold them.
        [sign({}, { sub: 'user-\u0000poison' }), /"sub" claim contains a NUL byte/],
        [sign({ tid: 'tnt_\ud800' }), /"tid" claim contains a lone surrogate/],
        [sign({}, { sub: 'u'.repeat(1_000) }), /"sub" claim is longer than 256 characters/],
        [new UnsecuredJWT({ sub: 'x', tid: tenantA, role: 'admin', exp: now + 60 }).encode(), /alg "none"/],
      ];
      for (const [token, message] of cases) {
        await expect(auth.authenticate(bearer(await token))).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(message) });
      }
    });

    it('refuses tokens that name their own verification key', async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      const jwk = await exportJWK(publicKey);
      const token = await new SignJWT({ tid: tenantA, role: 'admin' })
        .setProtectedHeader({ alg: 'HS256', jwk })
        .setSubject('user-1')
        .setExpirationTime(Math.floor(clock.at / 1000) + 60)
        .sign(secretKey);
      await expect(auth.authenticate(bearer(token))).rejects.toThrow(/name their own key are refused \(header jwk\)/);
      const jku = await new SignJWT({ tid: tenantA, role: 'admin' })
        .setProtectedHeader({ alg: 'RS256', jku: 'https://evil.example.com/jwks' })
        .setSubject('user-1')
        .setExpirationTime(Math.floor(clock.at / 1000) + 60)
        .sign(privateKey);
      await expect(auth.authenticate(bearer(jku))).rejects.toThrow(/name their own key are refused \(header jku\)/);
    });

    it('refuses a user token that names another tenant with X-Tenant-ID', async () => {
      await expect(auth.authenticate(bearer(await sign({}), { tenantId: tenantB }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(auth.authenticate(bearer(await sign({}), { tenantId: tenantA }))).resolves.toMatchObject({ kind: 'user' });
    });
  });
});

describe('dashboard JWTs from a key set (RS256, ES256)', () => {
  let server: Server;
  let jwksUrl: string;
  let auth: AuthService;
  let dispose: () => Promise<void>;
  const keys: JWK[] = [];
  const signers: Record<string, CryptoKey> = {};

  beforeAll(async () => {
    for (const alg of ['RS256', 'ES256', 'PS256']) {
      const { publicKey, privateKey } = await generateKeyPair(alg);
      keys.push({ ...(await exportJWK(publicKey)), kid: alg, alg });
      signers[alg] = privateKey;
    }
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    const opened = await openMigrated(sqlDialects()[0]!);
    dispose = opened.dispose;
    auth = new AuthService({ adminKey: undefined, db: opened.handle.db, logger, revocations: createLocalRevocationBus(), jwt: { jwksUrl } });
  });
  afterAll(async () => {
    await auth?.close();
    await dispose?.();
    server?.close();
  });

  const sign = (alg: string) =>
    new SignJWT({ tid: 'tnt_a', role: 'admin' })
      .setProtectedHeader({ alg, kid: alg })
      .setSubject('user-9')
      .setExpirationTime('5m')
      .sign(signers[alg]!);

  it('verifies RS256 and ES256 tokens against the key set', async () => {
    for (const alg of ['RS256', 'ES256']) {
      await expect(auth.authenticate(bearer(await sign(alg)))).resolves.toMatchObject({ kind: 'user', userId: 'user-9', tenantId: 'tnt_a' });
    }
  });

  it('refuses other algorithms, and HS256 when no shared secret is configured', async () => {
    await expect(auth.authenticate(bearer(await sign('PS256')))).rejects.toThrow(/algorithm "PS256" is not accepted/);
    const hs = await new SignJWT({ tid: 'tnt_a', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('5m').sign(new TextEncoder().encode(jwtSecret));
    await expect(auth.authenticate(bearer(hs))).rejects.toThrow(/algorithm "HS256" is not accepted \(accepted: RS256, ES256\)/);
  });
});

describe.runIf(sqlDialects().some((dialect) => dialect.name === 'postgres'))('AuthService through a Postgres outage', () => {
  it('serves keys and tenants verified within the grace, refuses the rest with UNAVAILABLE, and drops a key the bus says changed', async () => {
    const database = await sqlDialects().find((dialect) => dialect.name === 'postgres')!.create();
    const server = new URL(database.databaseUrl!);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const handle = await openSqlDatabase({ databaseUrl: proxy.url(database.databaseUrl!) });
    await migrateSql(handle.db);
    const clock: Clock & { at: number } = { at: Date.parse('2026-12-02T01:00:00Z'), now: () => new Date(clock.at) };
    const revocations = createLocalRevocationBus();
    const auth = new AuthService({ adminKey, db: handle.db, logger, revocations, clock, keyCacheTtlMs: 1_000, outageGraceMs: 10_000, lastUsedFlushMs: 60_000 });
    try {
      const keys = new ApiKeyService({ db: handle.db, revocations, clock });
      const tenantId = (await new TenantService(handle.db).create(as(platform), { name: 'Outage' })).id;
      const kept = await keys.create(as(platform), { tenantId, name: 'kept' });
      const changed = await keys.create(as(platform), { tenantId, name: 'changed' });
      const never = await keys.create(as(platform), { tenantId, name: 'never used' });
      for (const credentials of [bearer(kept.secret), bearer(changed.secret), bearer(adminKey, { tenantId })]) await auth.authenticate(credentials);

      proxy.setMode('refuse');
      clock.at += 5_000;
      await expect(auth.authenticate(bearer(kept.secret))).resolves.toMatchObject({ kind: 'api-key', keyId: kept.apiKey.id });
      await expect(auth.authenticate(bearer(adminKey, { tenantId }))).resolves.toMatchObject({ kind: 'platform', tenantId });
      const unavailable = { code: 'UNAVAILABLE', details: { dependency: 'database' } };
      await expect(auth.authenticate(bearer(never.secret))).rejects.toMatchObject(unavailable);
      // A change (here only announced) arrives over the bus, not the database: the key is no longer served from memory.
      await revocations.publish(changed.apiKey.id);
      await expect(auth.authenticate(bearer(changed.secret))).rejects.toMatchObject(unavailable);

      // Past the grace, counted from the last read: nothing is taken on trust any longer.
      clock.at += 5_001;
      await expect(auth.authenticate(bearer(kept.secret))).rejects.toMatchObject(unavailable);
      await expect(auth.authenticate(bearer(adminKey, { tenantId }))).rejects.toMatchObject(unavailable);

      proxy.setMode('pass');
      await expect(auth.authenticate(bearer(never.secret))).resolves.toMatchObject({ keyId: never.apiKey.id });
      await expect(auth.authenticate(bearer(changed.secret))).resolves.toMatchObject({ keyId: changed.apiKey.id });
    } finally {
      proxy.setMode('pass');
      await auth.close();
      await handle.db.destroy();
      await proxy.close();
      await database.dispose();
    }
  });
});
