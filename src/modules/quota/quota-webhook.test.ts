import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMigrated, sqlDialects } from '../../../test/testkit/sql-databases.ts';
import { createLogger } from '../../shared/logger.ts';
import { parseBillingMonth } from '../../shared/billing-period.ts';
import { QuotaAlertOutbox } from './quota-alert-outbox.ts';
import { quotaView } from './quota-view.ts';
import { QuotaWebhook, signWebhook } from './quota-webhook.ts';

const view = quotaView({ tenantId: 'tnt_a', planId: 'free', period: parseBillingMonth('2026-11'), limit: 1_000, hardQuota: true, used: 812, requests: 3, requestLimit: null });
const secret = 'webhook-secret-0123456789';
const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

const waitFor = async (condition: () => boolean | Promise<boolean>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe.each(sqlDialects())('quota webhook ($name)', (dialect) => {
  let server: Server;
  let url: string;
  let statuses: number[];
  let received: { headers: IncomingHttpHeaders; body: string }[];
  let database: Awaited<ReturnType<typeof openMigrated>>;
  let outbox: QuotaAlertOutbox;
  const webhooks: QuotaWebhook[] = [];
  const webhook = (options: Partial<ConstructorParameters<typeof QuotaWebhook>[0]> = {}) => {
    const created = new QuotaWebhook({ url, secret, logger, outbox, retryBaseMs: 5, ...options });
    webhooks.push(created);
    return created;
  };

  beforeEach(async () => {
    statuses = [];
    received = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(statuses.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    database = await openMigrated(dialect);
    outbox = new QuotaAlertOutbox(database.handle.db);
  });
  afterEach(async () => {
    await Promise.all(webhooks.splice(0).map((w) => w.close(100)));
    await new Promise((resolve) => server.close(resolve));
    await database.dispose();
  });

  it('signs "<t>.<body>" with HMAC-SHA256', () => {
    const body = '{"a":1}';
    expect(signWebhook(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex')}`);
  });

  it('retries 5xx and 429 answers with the same event id and body, then delivers it once', async () => {
    statuses = [500, 429, 502];
    webhook().send(view, 80);
    await waitFor(() => received.length === 4);
    await waitFor(async () => (await outbox.pending()) === 0);
    expect(new Set(received.map((r) => r.headers['tollgate-event-id']))).toEqual(new Set(['quota_tnt_a_202611_80']));
    expect(received.map((r) => r.headers['tollgate-attempt'])).toEqual(['1', '2', '3', '4']);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    const last = received.at(-1)!;
    const [, t] = /^t=(\d+),/.exec(String(last.headers['tollgate-signature']))!;
    expect(last.headers['tollgate-signature']).toBe(signWebhook(secret, last.body, Number(t)));
    expect(JSON.parse(last.body)).toMatchObject({
      id: 'quota_tnt_a_202611_80',
      type: 'quota.threshold_reached',
      data: { tenant_id: 'tnt_a', plan: 'free', period: '2026-11', threshold: 80, limit: 1_000, used: 812, remaining: 188, state: 'WARNING', hard_quota: true },
    });
  });

  it('does not retry a refusal (4xx), and gives up after the last attempt', async () => {
    statuses = [400];
    webhook().send(view, 100);
    await waitFor(() => received.length === 1);
    await waitFor(async () => (await outbox.pending()) === 0);

    statuses = [503, 503, 503];
    webhook({ maxAttempts: 3 }).send(view, 80);
    await waitFor(() => received.length === 4);
    await waitFor(async () => (await outbox.pending()) === 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(4);
  });

  it('keeps a delivery the platform has not taken across a restart, and the next instance delivers it', async () => {
    statuses = [503, 503];
    const first = webhook({ retryBaseMs: 60_000 });
    first.send(view, 100);
    await waitFor(() => received.length === 1);
    await first.close(100);
    expect(await outbox.pending()).toBe(1);

    // The next start finds it; its retry was due a minute later, so it is made due now to keep the test short.
    await database.handle.db.updateTable('quota_alert_delivery').set({ next_attempt_at: new Date(Date.now() - 1_000) }).execute();
    webhook();
    await waitFor(() => received.length === 3);
    await waitFor(async () => (await outbox.pending()) === 0);
    expect(received.map((r) => r.headers['tollgate-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
  });

  it('delivers each alert once when several instances share the queue, even when it is raised again', async () => {
    const instances = [webhook(), webhook(), webhook()];
    for (const threshold of [80, 100]) for (const instance of instances) instance.send(view, threshold);
    await waitFor(() => received.length >= 2);
    await waitFor(async () => (await outbox.pending()) === 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.map((r) => r.headers['tollgate-event-id']).sort()).toEqual(['quota_tnt_a_202611_100', 'quota_tnt_a_202611_80']);

    // Raised again after its delivery (a settlement's retry, say): it was delivered, so it is not sent again.
    instances[1]!.send(view, 80);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toHaveLength(2);
  });
});
