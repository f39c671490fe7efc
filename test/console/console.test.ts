import { join } from 'node:path';
import { SignJWT } from 'jose';
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, graphqlRequest, startTestApp, testAdminKey, type TestApp } from '../testkit/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../testkit/fake-upstream.ts';
import { sqlDialects, type TestSqlDatabase } from '../testkit/sql-databases.ts';
import { CreateApiKeyDocument, CreateTenantDocument, SetTenantLimitsDocument, TenantLimitsDocument, TenantUsageTotalsDocument } from '../../client/src/generated/graphql.ts';
import { ensureConsoleBuilt, eventually, launchBrowser, screenshotDir, seriousAxeViolations } from './browser.ts';

const jwtSecret = 'console-dashboard-jwt-secret-0123456789abcdef';
const messages = [{ role: 'user' as const, content: 'hello' }];
// A real browser drives each scenario through several screens.
const browserTimeoutMs = 120_000;

describe.each(sqlDialects())('web console through the real gateway ($name)', (dialect) => {
  let database: TestSqlDatabase;
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const admin = () => adminClient(gateway.url);
  const newTenant = async (name: string, plan = 'pro') => (await admin().execute(CreateTenantDocument, { input: { name, plan } })).createTenant.tenant.id;
  const newKey = async (tenantId: string, scopes: ('ADMIN' | 'USAGE_READ' | 'INFERENCE')[]) => {
    const { createApiKey } = await admin().execute(CreateApiKeyDocument, { input: { tenantId, name: `key-${scopes.join('-')}`, scopes } });
    gateway.secrets.add(createApiKey.secret);
    return createApiKey;
  };
  const userToken = (tenantId: string, role: 'admin' | 'member', expiresInSeconds = 600) =>
    new SignJWT({ tid: tenantId, role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`user-${role}`)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
      .sign(new TextEncoder().encode(jwtSecret));

  const openPage = async (options: { width?: number; bypassCSP?: boolean } = {}): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 }, bypassCSP: options.bypassCSP ?? false, acceptDownloads: true });
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    return context.newPage();
  };

  /** Opens the console in a fresh browser and signs in with `secret` through the form. */
  const signIn = async (secret: string, options: { width?: number; bypassCSP?: boolean } = {}): Promise<Page> => {
    const page = await openPage(options);
    await page.goto(`${gateway.url}/console/`);
    await page.getByLabel('Secret').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    return page;
  };

  const sessionCookieOf = async (page: Page) => (await page.context().cookies()).find((cookie) => cookie.name === 'tollgate_session');

  /** What GraphQL says to a request carrying only this cookie (as the console sends it). */
  const viewerWithCookie = (value: string) => graphqlRequest<{ viewer: { kind: string } }>(gateway.url, '{ viewer { kind tenantId } }', {}, { cookie: `tollgate_session=${value}` });

  const totalRequests = async (page: Page) => Number((await page.getByLabel('Total requests').textContent())?.replaceAll(',', ''));

  beforeAll(async () => {
    ensureConsoleBuilt();
    database = await dialect.create();
    upstream = await startFakeUpstream({ behaviour: { tokens: 5 } });
    gateway = await startTestApp({
      databaseUrl: database.databaseUrl,
      config: { auth: { jwtSecret }, usage: { flushIntervalMs: 100 } },
      inference: {
        providers: [{ name: 'gpu', type: 'openai', baseUrl: upstream.openaiBaseUrl }],
        models: [
          { name: 'chat-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream', weight: 1 }], price: { inputPerMillion: '3.00', outputPerMillion: '6.00', currency: 'USD' } },
          { name: 'other-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream?tokens=7', weight: 1 }] },
          { name: 'big-model', kind: 'chat', deployments: [{ provider: 'gpu', model: 'upstream?tokens=30000', weight: 1 }] },
        ],
      },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await gateway?.stop();
    await upstream?.close();
    await database?.dispose();
  });

  it('signs in with the admin key, an admin or usage:read API key and a dashboard JWT, into an HttpOnly, SameSite=Strict cookie', async () => {
    const tenantId = await newTenant('Sign-in Co');
    const adminKey = await newKey(tenantId, ['ADMIN']);
    const readKey = await newKey(tenantId, ['USAGE_READ']);
    const cases = [
      { secret: testAdminKey, links: ['Tenants', 'Models'] },
      { secret: adminKey.secret, links: ['Overview', 'Usage', 'API keys', 'Provider credentials', 'Inference', 'Billing', 'Audit log'] },
      { secret: readKey.secret, links: ['Overview', 'Usage', 'API keys'] },
      { secret: await userToken(tenantId, 'admin'), links: ['Overview', 'Audit log'] },
    ];
    for (const { secret, links } of cases) {
      const page = await signIn(secret);
      const navigation = page.getByRole('navigation');
      for (const link of links) await navigation.getByRole('link', { name: link, exact: true }).waitFor();
      const cookie = await sessionCookieOf(page);
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
      expect(cookie!.value).not.toContain(secret);
      const stored = await page.evaluate(() => JSON.stringify({ ...window.localStorage }) + JSON.stringify({ ...window.sessionStorage }) + document.cookie);
      expect(stored).toBe('{}{}');
      expect((await viewerWithCookie(cookie!.value)).errors).toBeUndefined();
    }
  }, browserTimeoutMs);

  it('loads under 300 KB of gzipped JavaScript on first visit', async () => {
    const page = await openPage();
    const scripts: Promise<number>[] = [];
    page.on('requestfinished', (request) => {
      if (request.resourceType() === 'script') scripts.push(request.sizes().then((sizes) => sizes.responseBodySize));
    });
    await page.goto(`${gateway.url}/console/`);
    await page.getByLabel('Secret').waitFor();
    const sizes = await Promise.all(scripts);
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBeLessThan(300_000);
  }, browserTimeoutMs);

  it('shows a refused secret in an alert, with the request id', async () => {
    const page = await openPage();
    await page.goto(`${gateway.url}/console/`);
    await page.getByLabel('Secret').fill('tg_nothing_notarealsecret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/invalid API key.*Request ID: req_/);
    expect(await sessionCookieOf(page)).toBeUndefined();
  }, browserTimeoutMs);

  it('ends the session on sign-out: the cookie no longer works against /graphql', async () => {
    const page = await signIn(testAdminKey);
    const cookie = (await sessionCookieOf(page))!;
    expect((await viewerWithCookie(cookie.value)).data?.viewer.kind).toBe('PLATFORM_ADMIN');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Secret').waitFor();
    expect(await sessionCookieOf(page)).toBeUndefined();
    const after = await viewerWithCookie(cookie.value);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  }, browserTimeoutMs);

  it('creates a key whose secret works with the OpenAI SDK and is counted in Total requests; revoking it refuses /v1 and ends its console session', async () => {
    const tenantId = await newTenant('Keys Co');
    const page = await signIn(testAdminKey);
    await page.goto(`${gateway.url}/console/t/${tenantId}/keys`);
    await page.getByText('No API keys yet.').waitFor();
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('ci-runner');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const secret = await page.getByLabel('New secret').inputValue();
    gateway.secrets.add(secret);
    expect(secret).toMatch(/^tg_/);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('row', { name: /ci-runner/ }).waitFor();

    // A console signed in with the new key (it has the usage:read scope by default).
    const keyPage = await signIn(secret);

    await page.getByRole('link', { name: 'Overview' }).click();
    const before = await eventually('the overview shows its total', async () => (Number.isNaN(await totalRequests(page)) ? undefined : await totalRequests(page)));
    const openai = new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: 'chat-model', messages });
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    await eventually('the request is counted in Total requests', async () => ((await totalRequests(page)) === before + 1 ? true : undefined));
    await page.getByRole('img', { name: `Requests: ${before + 1} in total` }).waitFor();
    // The rate-limit headroom counts the request too: one fewer left in the minute than the plan allows.
    await eventually('the headroom shows the request', async () => {
      const [left, limit] = /^([\d,]+) of ([\d,]+)/.exec((await page.getByLabel('Requests left').textContent()) ?? '')?.slice(1).map((n) => Number(n.replaceAll(',', ''))) ?? [];
      return left !== undefined && left === limit! - 1 ? true : undefined;
    });
    await page.screenshot({ path: join(screenshotDir, `overview-${dialect.name}.jpg`), type: 'jpeg', quality: 70 });

    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('row', { name: /ci-runner/ }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('row', { name: /ci-runner.*revoked/ }).waitFor();

    const refused = await openai.chat.completions.create({ model: 'chat-model', messages }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);

    // The key's console returns to sign-in on its next call (the overview refreshes by itself), saying why.
    await keyPage.getByLabel('Secret').waitFor();
    expect(await keyPage.getByRole('alert').textContent()).toContain('revoked');
    const keyCookie = await sessionCookieOf(keyPage);
    if (keyCookie) expect((await viewerWithCookie(keyCookie.value)).status).toBe(401);
  }, browserTimeoutMs);

  it('moves the quota gauge live when usage crosses 80%', async () => {
    const tenantId = await newTenant('Quota Co', 'free');
    await admin().execute(SetTenantLimitsDocument, { tenantId, limits: { tokensPerMinute: 1_000_000, requestsPerMinute: 100 } });
    const key = await newKey(tenantId, ['INFERENCE', 'USAGE_READ']);
    const page = await signIn(key.secret);
    const gauge = page.getByRole('meter', { name: 'Monthly tokens used' });
    await gauge.waitFor();
    expect(await gauge.getAttribute('aria-valuenow')).toBe('0');
    const openai = new OpenAI({ apiKey: key.secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // 30,000 tokens a request against 100,000 a month: the third crosses 80%.
    for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: 'big-model', messages });
    const used = await eventually('the gauge moves past 80%', async () => {
      const value = Number(await gauge.getAttribute('aria-valuenow'));
      return value >= 80_000 ? value : undefined;
    });
    expect(used).toBeLessThan(100_000);
    expect(await page.getByLabel('Quota used').textContent()).toMatch(/^(8|9)\d\.\d%$/);
  }, browserTimeoutMs);

  it("lets the platform override a tenant's rate limits", async () => {
    const tenantId = await newTenant('Limits Co');
    const page = await signIn(testAdminKey);
    await page.goto(`${gateway.url}/console/t/${tenantId}/overview`);
    const form = page.getByRole('form', { name: 'Override limits' });
    await form.getByLabel('Requests per minute override').fill('7');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await page.getByText('requestsPerMinute', { exact: true }).waitFor();
    const { tenant } = await admin().execute(TenantLimitsDocument, { id: tenantId });
    expect(tenant?.limits).toMatchObject({ requestsPerMinute: 7, overridden: ['requestsPerMinute'] });
  }, browserTimeoutMs);

  it('exports as CSV exactly the usage the GraphQL totals report for the same filters', async () => {
    const tenantId = await newTenant('Export Co');
    const key = await newKey(tenantId, ['INFERENCE', 'USAGE_READ']);
    const openai = new OpenAI({ apiKey: key.secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    for (const model of ['chat-model', 'chat-model', 'other-model']) await openai.chat.completions.create({ model, messages });
    const page = await signIn(key.secret);
    await page.getByRole('link', { name: 'Usage' }).click();
    const filters = page.getByRole('form', { name: 'Usage filters' });
    await filters.getByLabel('Model').fill('chat-model');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await eventually('both chat-model requests are listed', async () => ((await page.getByRole('row', { name: /chat-model/ }).count()) === 2 ? true : undefined));

    await page.getByLabel('Group by').selectOption('MODEL');
    await page.getByRole('table', { name: 'Usage by model' }).getByRole('row', { name: /^chat-model 2 / }).waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = await new Response((await download.createReadStream()) as unknown as ReadableStream).text();
    const [header, ...lines] = csv.trim().split('\r\n');
    const columns = header!.split(',');
    const rows = lines.map((line) => Object.fromEntries(line.split(',').map((value, index) => [columns[index], value])));
    const from = await filters.getByLabel('From').inputValue();
    const to = new Date(`${await filters.getByLabel('To').inputValue()}T00:00:00Z`);
    to.setUTCDate(to.getUTCDate() + 1);
    const { tenant } = await admin().execute(TenantUsageTotalsDocument, {
      tenantId,
      range: { from: new Date(`${from}T00:00:00Z`).toISOString(), to: to.toISOString() },
      filter: { models: ['chat-model'] },
    });
    const totals = tenant!.usage.totals;
    expect(rows).toHaveLength(totals.requests);
    expect(rows.every((row) => row.requestedModel === 'chat-model')).toBe(true);
    const sum = (column: string) => rows.reduce((total, row) => total + Number(row[column]), 0);
    expect({ requests: rows.length, promptTokens: sum('promptTokens'), completionTokens: sum('completionTokens'), totalTokens: sum('totalTokens') }).toEqual({
      requests: totals.requests,
      promptTokens: totals.promptTokens,
      completionTokens: totals.completionTokens,
      totalTokens: totals.totalTokens,
    });
  }, browserTimeoutMs);

  it('shows members and read-only keys no admin actions', async () => {
    const tenantId = await newTenant('Readers Co');
    await newKey(tenantId, ['INFERENCE']);
    const readKey = await newKey(tenantId, ['USAGE_READ']);
    for (const secret of [await userToken(tenantId, 'member'), readKey.secret]) {
      const page = await signIn(secret);
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByText("Only the tenant's admins see and manage its API keys.").waitFor();
      expect(await page.content()).not.toContain('key-INFERENCE');
      expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Inference' }).click();
      await page.getByLabel('Preferred provider').waitFor();
      expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Provider credentials' }).click();
      await page.getByRole('row', { name: /gpu/ }).waitFor();
      expect(await page.getByRole('button', { name: 'Save credential' }).count()).toBe(0);
    }
  }, browserTimeoutMs);

  it("refuses another tenant's pages to a tenant session that edits the URL", async () => {
    const own = await newTenant('Own Co');
    const other = await newTenant('Other Co');
    await newKey(other, ['ADMIN']);
    const key = await newKey(own, ['ADMIN']);
    const page = await signIn(key.secret);
    for (const screen of ['keys', 'overview', 'usage']) {
      await page.goto(`${gateway.url}/console/t/${other}/${screen}`);
      const alert = page.getByRole('alert').first();
      await alert.waitFor();
      expect(await alert.textContent()).toContain(`"${other}" was not found`);
      expect(await page.content()).not.toContain('key-ADMIN');
    }
  }, browserTimeoutMs);

  it('shows a provider credential only by its last four characters, in the page and in every response', async () => {
    const tenantId = await newTenant('Credentials Co');
    const credential = 'sk-live-credential-abcdefgh-WXYZ';
    gateway.secrets.add(credential);
    const page = await signIn(testAdminKey);
    const bodies: string[] = [];
    page.on('response', (response) => {
      void response.text().then((body) => bodies.push(body), () => {});
    });
    page.on('websocket', (socket) => socket.on('framereceived', (frame) => bodies.push(String(frame.payload))));
    await page.goto(`${gateway.url}/console/t/${tenantId}/credentials`);
    await page.getByLabel('API key').fill(credential);
    await page.getByRole('button', { name: 'Save credential' }).click();
    await page.getByRole('row', { name: /gpu.*…WXYZ/ }).waitFor();
    await page.reload();
    await page.getByRole('row', { name: /gpu.*…WXYZ/ }).waitFor();
    const html = await page.evaluate(() => document.documentElement.outerHTML + [...document.querySelectorAll('input')].map((input) => input.value).join(' '));
    expect(html).not.toContain(credential.slice(0, -4));
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) expect(body).not.toContain(credential.slice(0, -4));
  }, browserTimeoutMs);

  it('has no serious or critical axe-core violations on any screen, at 1280 px and at phone width', async () => {
    const tenantId = await newTenant('Accessible Co');
    await newKey(tenantId, ['ADMIN']);
    for (const width of [1280, 390]) {
      const signInPage = await openPage({ width, bypassCSP: true });
      await signInPage.goto(`${gateway.url}/console/`);
      await signInPage.getByLabel('Secret').waitFor();
      expect(await seriousAxeViolations(signInPage), 'sign-in').toEqual([]);
      await signInPage.screenshot({ path: join(screenshotDir, `sign-in-${width}-${dialect.name}.png`) });

      const page = await signIn(testAdminKey, { width, bypassCSP: true });
      const screens = [
        ...['overview', 'usage', 'keys', 'credentials', 'inference', 'billing', 'audit'].map((screen) => `/t/${tenantId}/${screen}`),
        '/platform/tenants',
        '/platform/models',
      ];
      for (const screen of screens) {
        await page.goto(`${gateway.url}/console${screen}`);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await eventually(`${screen} finished loading`, async () => ((await page.getByRole('status').filter({ hasText: 'Loading' }).count()) === 0 ? true : undefined));
        expect(await seriousAxeViolations(page), screen).toEqual([]);
        expect(await page.getByRole('alert').count(), `${screen} shows no error`).toBe(0);
        await page.screenshot({ path: join(screenshotDir, `${screen.split('/').filter(Boolean).pop()}-${width}-${dialect.name}.png`), fullPage: true });
      }
    }
  }, browserTimeoutMs);
});
