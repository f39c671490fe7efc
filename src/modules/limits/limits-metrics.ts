import { Counter, type Registry } from 'prom-client';

/** Limiter and quota metrics, on the app's registry (one per app, so tests can run several). */
export class LimitsMetrics {
  /** Limiter store calls that failed, by operation (admit, settle, graphql) and handling (fail_open, fail_closed, retry, dropped). */
  readonly storeFailures: Counter<'operation' | 'handling'>;
  readonly quotaAlerts: Counter<'threshold'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly graphqlRefusals: Counter;
  readonly earlyAnswers: Counter;
  readonly earlyAnswersRefused: Counter;

  constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    this.storeFailures = new Counter({
      name: 'tollgate_limit_store_failures_total',
      help: 'Limiter store (Redis) calls that failed or timed out, by operation and what was done: fail_open (served unlimited), fail_closed (503), retry, dropped.',
      labelNames: ['operation', 'handling'],
      registers,
    });
    this.quotaAlerts = new Counter({ name: 'tollgate_quota_alerts_total', help: 'Quota thresholds reached (80, 100), once per tenant and period.', labelNames: ['threshold'], registers });
    this.webhookDeliveries = new Counter({
      name: 'tollgate_quota_webhook_deliveries_total',
      help: 'Quota webhook deliveries by outcome (delivered, refused, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.earlyAnswers = new Counter({ name: 'tollgate_limit_early_answers_total', help: 'Requests answered without waiting for their verdict from the limits store (ample headroom).', registers });
    this.earlyAnswersRefused = new Counter({
      name: 'tollgate_limit_early_answers_refused_total',
      help: 'Requests answered early whose verdict was a refusal: aborted if the upstream had not answered yet, otherwise served past the limit.',
      registers,
    });
    this.graphqlRefusals = new Counter({ name: 'tollgate_graphql_rate_limited_total', help: 'GraphQL operations refused by the per-principal rate limit.', registers });
  }
}
