import { createHmac } from 'node:crypto';
import type { Logger } from '../../shared/logger.ts';
import type { LimitsMetrics } from '../limits/index.ts';
import type { QuotaAlertDeliveryRow } from './quota-alert-delivery.table.ts';
import type { QuotaAlertOutbox } from './quota-alert-outbox.ts';
import type { QuotaView } from './quota-view.ts';

export interface QuotaWebhookOptions {
  url: string;
  /** Signs each body: the platform checks `tollgate-signature` before trusting it. */
  secret: string;
  logger: Logger;
  /** Where deliveries wait until the platform takes them, shared by every instance. */
  outbox: QuotaAlertOutbox;
  /** Attempts in all, the first included. */
  maxAttempts?: number;
  /** Delay before the first retry; doubled each time (with jitter) up to maxRetryDelayMs. */
  retryBaseMs?: number;
  maxRetryDelayMs?: number;
  timeoutMs?: number;
  /** How often to look for deliveries other instances queued since (one that died may have left some). */
  pollMs?: number;
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
 * Tells the platform that a tenant reached 80% or 100% of its quota (docs/limits.md has the contract).
 * Each alert is queued in the SQL database before its first attempt, so it outlives a restart or an
 * outage of the platform's endpoint; delivery is at least once, with the same event id each attempt.
 */
export class QuotaWebhook {
  readonly #options: Required<Omit<QuotaWebhookOptions, 'metrics'>> & Pick<QuotaWebhookOptions, 'metrics'>;
  /** Alerts being queued (and the pruning of old ones): close() waits for them. */
  readonly #queueing = new Set<Promise<void>>();
  readonly #closing = new AbortController();
  #pumping: Promise<void> | undefined;
  #pumpAgain = false;
  #closed = false;
  readonly #poll: NodeJS.Timeout;
  #wake: { timer: NodeJS.Timeout; at: number } | undefined;

  constructor(options: QuotaWebhookOptions) {
    this.#options = { maxAttempts: 20, retryBaseMs: 1_000, maxRetryDelayMs: 300_000, timeoutMs: 10_000, pollMs: 30_000, ...options };
    this.#poll = setInterval(() => this.#pump(), this.#options.pollMs);
    this.#poll.unref();
    // Deliveries an earlier run left behind; alerts of periods long over are forgotten.
    this.#pump();
    this.#track(options.outbox.prune(doneKeptDays).catch((error: unknown) => options.logger.warn({ err: error }, 'quota webhook: cannot forget old alerts')));
  }

  send(view: QuotaView, threshold: number): void {
    const id = alertEventId(view, threshold);
    this.deliver(id, alertBody(id, view, threshold));
  }

  /** Any other alert (a budget's), delivered the same way: queued once per id, signed, retried. */
  deliver(id: string, body: string): void {
    const queued = this.#options.outbox.enqueue(id, body).then(
      () => this.#pump(),
      (error: unknown) => {
        // Without the database the alert cannot be kept: the log carries it whole, for an operator to replay.
        this.#options.metrics?.webhookDeliveries.inc({ outcome: 'failed' });
        this.#options.logger.error({ err: error, eventId: id, body }, 'quota webhook: cannot queue the alert in the database; it is not delivered');
      },
    );
    this.#track(queued);
  }

  /** Database work close() waits for. */
  #track(work: Promise<void>): void {
    this.#queueing.add(work);
    void work.finally(() => this.#queueing.delete(work));
  }

  /**
   * Stops attempting: waits for alerts being queued and for attempts under way up to `graceMs`, then
   * abandons those. Whatever is not delivered stays queued for the next start or another instance.
   */
  async close(graceMs = 2_000): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#wake?.timer);
    const timer = setTimeout(() => this.#closing.abort(), graceMs);
    await Promise.allSettled([...this.#queueing]);
    await this.#pumping;
    clearTimeout(timer);
    this.#closing.abort();
  }

  /** Attempts every due delivery, a few at a time, until none is due; one pump at a time per instance. */
  #pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = this.#drain()
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'quota webhook: cannot read the delivery queue; it is read again at the next poll'))
      .finally(() => {
        this.#pumping = undefined;
        if (this.#pumpAgain) {
          this.#pumpAgain = false;
          this.#pump();
        }
      });
  }

  async #drain(): Promise<void> {
    while (!this.#closed) {
      const rows = await this.#options.outbox.claimDue(10, this.#options.timeoutMs + 5_000);
      if (rows.length === 0) {
        // Wake when the next retry is due, whichever instance made the last attempt.
        const dueInMs = await this.#options.outbox.nextDueInMs();
        if (dueInMs !== null) this.#wakeIn(Math.max(50, dueInMs + 10));
        return;
      }
      await Promise.all(rows.map((row) => this.#attempt(row)));
    }
  }

  async #attempt(row: QuotaAlertDeliveryRow): Promise<void> {
    const { logger, maxAttempts, outbox } = this.#options;
    const id = row.event_id;
    const attempt = row.attempts + 1;
    let outcome: string;
    try {
      const response = await fetch(this.#options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tollgate-webhook/1',
          'tollgate-event-id': id,
          'tollgate-attempt': String(attempt),
          'tollgate-signature': signWebhook(this.#options.secret, row.body, Math.floor(Date.now() / 1000)),
        },
        body: row.body,
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#closing.signal]),
      });
      await response.body?.cancel();
      if (response.ok) {
        await outbox.done(id, 'delivered', attempt);
        this.#options.metrics?.webhookDeliveries.inc({ outcome: 'delivered' });
        logger.info({ eventId: id, attempt }, 'quota webhook delivered');
        return;
      }
      outcome = `HTTP ${response.status}`;
      if (response.status < 500 && response.status !== 408 && response.status !== 429) {
        await outbox.done(id, 'refused', attempt, outcome);
        this.#options.metrics?.webhookDeliveries.inc({ outcome: 'refused' });
        logger.error({ eventId: id, status: response.status }, 'quota webhook refused by the platform; not retried');
        return;
      }
    } catch (error) {
      outcome = (error as Error).message;
    }
    if (this.#closing.signal.aborted) {
      // Cut short by shutdown: not counted, and at once due again for whoever runs next.
      await outbox.release(id);
      logger.warn({ eventId: id }, 'quota webhook attempt abandoned at shutdown; it stays queued');
      return;
    }
    if (attempt >= maxAttempts) {
      await outbox.done(id, 'failed', attempt, outcome);
      this.#options.metrics?.webhookDeliveries.inc({ outcome: 'failed' });
      logger.error({ eventId: id, attempts: attempt, outcome, body: row.body }, 'quota webhook failed; giving up');
      return;
    }
    const delay = Math.min(this.#options.retryBaseMs * 2 ** (attempt - 1), this.#options.maxRetryDelayMs) * (0.8 + Math.random() * 0.4);
    await outbox.retryLater(id, attempt, delay, outcome);
    logger.warn({ eventId: id, attempt, outcome, retryInMs: Math.round(delay) }, 'quota webhook failed; retrying');
  }

  /** Pumps again in `delayMs`, unless a wake is due sooner already. */
  #wakeIn(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.#closed || (this.#wake && this.#wake.at <= at)) return;
    clearTimeout(this.#wake?.timer);
    const timer = setTimeout(() => {
      this.#wake = undefined;
      this.#pump();
    }, delayMs);
    timer.unref();
    this.#wake = { timer, at };
  }
}

/** Alerts done are kept this long, past the end of their period, so one raised again is not sent again. */
const doneKeptDays = 62;

/** The body sent on every attempt: fixed when the alert is raised, so a repeat is the same alert. */
function alertBody(id: string, view: QuotaView, threshold: number): string {
  return JSON.stringify({
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
}
