import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.ts';
import { parseBillingMonth } from './billing-period.ts';
import { quotaView } from './quota-view.ts';
import { QuotaWebhook, signWebhook } from './quota-webhook.ts';

const view = quotaView({ tenantId: 'tnt_a', planId: 'free', period: parseBillingMonth('2026-11'), limit: 1_000, hardQuota: true, used: 812, requests: 3, requestLimit: null });
const secret = 'webhook-secret-0123456789';
const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

describe('quota webhook', () => {
  let server: Server;
  let url: string;
  let statuses: number[];
  let received: { headers: IncomingHttpHeaders; body: string }[];

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
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('signs "<t>.<body>" with HMAC-SHA256', () => {
    const body = '{"a":1}';
    expect(signWebhook(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex')}`);
  });

  it('retries 5xx, 429 and unreachable answers with the same event id, then delivers', async () => {
    statuses = [500, 429, 502];
    const webhook = new QuotaWebhook({ url, secret, logger, retryBaseMs: 5 });
    webhook.send(view, 80);
    await webhook.close(5_000);
    expect(received).toHaveLength(4);
    expect(new Set(received.map((r) => r.headers['tollgate-event-id']))).toEqual(new Set(['quota_tnt_a_202611_80']));
    expect(received.map((r) => r.headers['tollgate-attempt'])).toEqual(['1', '2', '3', '4']);
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
    const refused = new QuotaWebhook({ url, secret, logger, retryBaseMs: 5 });
    refused.send(view, 100);
    await refused.close(5_000);
    expect(received).toHaveLength(1);

    statuses = [503, 503, 503];
    const failing = new QuotaWebhook({ url, secret, logger, retryBaseMs: 5, maxAttempts: 3 });
    failing.send(view, 100);
    await failing.close(5_000);
    expect(received).toHaveLength(4);
  });
});
