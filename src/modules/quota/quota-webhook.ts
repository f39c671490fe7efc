import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.ts';
import type { LimitsMetrics } from '../limits/limits-metrics.ts';
import type { QuotaView } from './quota-view.ts';

export interface QuotaWebhookOptions {
  url: string;
  /** Signs each body: the platform checks `tollgate-signature` before trusting it. */
  secret: string;
  logger: Logger;
  /** Attempts in all, the first included. */
  maxAttempts?: number;
  /** Delay before the first retry; doubled each time (with jitter). */
  retryBaseMs?: number;
  timeoutMs?: number;
  metrics?: LimitsMetrics | undefined;
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed with the body so
 * a captured delivery cannot be replayed later; receivers reject a t far from their clock.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const digest = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${digest}`;
}

/** The delivery's id: the same for every attempt, so the platform can drop a duplicate. */
export const alertEventId = (view: QuotaView, threshold: number) => `quota_${view.tenantId}_${view.period.id}_${threshold}`;

/**
 * Tells the platform that a tenant reached 80% or 100% of its quota. The limiter store guarantees one
 * alert per threshold per period across instances; this retries each delivery with backoff while the
 * platform answers 5xx, 408 or 429 or cannot be reached. A delivery still failing after the last
 * attempt is logged and dropped (the quotaUpdated subscription carried it too).
 */
export class QuotaWebhook {
  readonly #options: Required<Omit<QuotaWebhookOptions, 'metrics'>> & Pick<QuotaWebhookOptions, 'metrics'>;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #closing = new AbortController();

  constructor(options: QuotaWebhookOptions) {
    this.#options = { maxAttempts: 6, retryBaseMs: 1_000, timeoutMs: 10_000, ...options };
  }

  send(view: QuotaView, threshold: number): void {
    const delivery = this.#deliver(view, threshold).finally(() => this.#inFlight.delete(delivery));
    this.#inFlight.add(delivery);
  }

  /** Waits for deliveries in progress up to `graceMs`, then abandons their retries. */
  async close(graceMs = 2_000): Promise<void> {
    const timer = setTimeout(() => this.#closing.abort(), graceMs);
    await Promise.allSettled([...this.#inFlight]);
    clearTimeout(timer);
    this.#closing.abort();
  }

  async #deliver(view: QuotaView, threshold: number): Promise<void> {
    const id = alertEventId(view, threshold);
    const body = JSON.stringify({
      id,
      type: 'quota.threshold_reached',
      created: Math.floor(Date.now() / 1000),
      data: {
        tenant_id: view.tenantId,
        plan: view.planId,
        period: view.period.month,
        threshold,
        limit: view.limit,
        used: view.used,
        remaining: view.remaining,
        overage: view.overage,
        state: view.state,
        hard_quota: view.hardQuota,
      },
    });
    const { logger, maxAttempts, retryBaseMs } = this.#options;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let outcome: string;
      try {
        const response = await fetch(this.#options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'tollgate-webhook/1',
            'tollgate-event-id': id,
            'tollgate-attempt': String(attempt),
            'tollgate-signature': signWebhook(this.#options.secret, body, Math.floor(Date.now() / 1000)),
          },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#closing.signal]),
        });
        await response.body?.cancel();
        if (response.ok) {
          this.#options.metrics?.webhookDeliveries.inc({ outcome: 'delivered' });
          logger.info({ eventId: id, attempt }, 'quota webhook delivered');
          return;
        }
        outcome = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 408 && response.status !== 429) {
          this.#options.metrics?.webhookDeliveries.inc({ outcome: 'refused' });
          logger.error({ eventId: id, status: response.status }, 'quota webhook refused by the platform; not retried');
          return;
        }
      } catch (error) {
        outcome = (error as Error).message;
      }
      if (this.#closing.signal.aborted) break;
      if (attempt < maxAttempts) {
        const delay = retryBaseMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
        logger.warn({ eventId: id, attempt, outcome, retryInMs: Math.round(delay) }, 'quota webhook failed; retrying');
        try {
          await sleep(delay, undefined, { signal: this.#closing.signal });
        } catch {
          break;
        }
      } else {
        this.#options.metrics?.webhookDeliveries.inc({ outcome: 'failed' });
        logger.error({ eventId: id, attempts: attempt, outcome }, 'quota webhook failed; giving up');
        return;
      }
    }
    logger.warn({ eventId: id }, 'quota webhook abandoned at shutdown');
  }
}
