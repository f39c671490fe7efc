import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, graphqlRequest, startTestApp, type TestApp } from '../testkit/app.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';
import { CreateTenantDocument } from '../../client/src/generated/graphql.ts';
import { ensureConsoleBuilt, eventually, launchBrowser } from './browser.ts';

const clientId = 'tollgate-console';
const clientSecret = 'sso-client-secret-for-the-console-tests';
const browserTimeoutMs = 120_000;

describe.each(sqlDialects())('console single sign-on against a real OpenID provider ($name)', (dialect) => {
  let database: TestSqlDatabase;
  let issuerServer: Server;
  let gateway: TestApp;
  let browser: Browser;
  let tenantId: string;
  const refreshGrants: string[] = [];

  /** Who the provider knows: its login is the account id; claims name the tenant and role. */
  const accounts = new Map<string, Record<string, string>>();

  beforeAll(async () => {
    ensureConsoleBuilt();
    database = await dialect.create();
    // The provider's port is fixed first: the gateway needs its issuer URL, the provider the gateway's callback.
    issuerServer = createServer();
    await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
    gateway = await startTestApp({
      databaseUrl: database.databaseUrl,
      config: { oidc: { issuer, clientId, clientSecret, tenantClaim: 'org', roleClaim: 'console_role' } },
    });
    gateway.secrets.add(clientSecret);
    const provider = new Provider(issuer, {
      clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [`${gateway.url}/console/sso/callback`], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
      findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, ...accounts.get(id) }) }),
      claims: { openid: ['sub'], profile: ['org', 'console_role'] },
      conformIdTokenClaims: false,
      // Access tokens lapse at once, so the next console call after sign-in refreshes the session.
      ttl: { AccessToken: 1, IdToken: 3600, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
      cookies: { keys: ['provider-cookie-key-for-tests'] },
    });
    provider.on('grant.success', (ctx) => {
      if (ctx.oidc.params?.grant_type === 'refresh_token') refreshGrants.push(String(ctx.oidc.params.grant_type));
    });
    issuerServer.on('request', provider.callback());
    tenantId = (await adminClient(gateway.url).execute(CreateTenantDocument, { input: { name: 'SSO Co' } })).createTenant.tenant.id;
    accounts.set('alice', { org: tenantId, console_role: 'admin' });
    accounts.set('mallory', { org: 'tnt_nosuchtenant', console_role: 'admin' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await new Promise((resolve) => issuerServer?.close(resolve));
    await database?.dispose();
  });

  /** Through the console's SSO button, the provider's login and consent pages, and back. */
  const signInWithSso = async (login: string): Promise<Page> => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await page.goto(`${gateway.url}/console/`);
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${gateway.url}/console/**`);
    return page;
  };

  it('signs in through the provider, maps the claims to tenant and role, and refreshes the session with the refresh token', async () => {
    const page = await signInWithSso('alice');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'Create key' }).waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === 'tollgate_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    const viewer = () => graphqlRequest<{ viewer: { kind: string; tenantId: string; userId: string; role: string } }>(gateway.url, '{ viewer { kind tenantId userId role } }', {}, { cookie: `tollgate_session=${cookie.value}` });
    expect((await viewer()).data?.viewer).toEqual({ kind: 'USER', tenantId, userId: 'alice', role: 'admin' });
    // Once the provider's access token lapses, a call refreshes the session instead of ending it.
    const refreshed = await eventually('the session is refreshed at the provider', async () => {
      const result = await viewer();
      return refreshGrants.length > 0 ? result : undefined;
    });
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data?.viewer).toEqual({ kind: 'USER', tenantId, userId: 'alice', role: 'admin' });
    await page.context().close();
  }, browserTimeoutMs);

  it('refuses a person whose tenant claim names no tenant', async () => {
    const page = await signInWithSso('mallory');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/there is no tenant "tnt_nosuchtenant".*Request ID: req_/);
    await page.getByLabel('Secret').waitFor();
    expect((await page.context().cookies()).find((c) => c.name === 'tollgate_session')).toBeUndefined();
    await page.context().close();
  }, browserTimeoutMs);
});
