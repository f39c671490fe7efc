import type { Generated, Selectable } from 'kysely';

/** A quota alert webhook, waiting for the platform or done (see quota-alert-outbox.ts). */
export interface QuotaAlertDeliveryTable {
  /** The alert's id (alertEventId): one row per tenant, period and threshold. */
  event_id: string;
  /** The JSON body, fixed when the alert was raised; each attempt signs it afresh. */
  body: string;
  /** Attempts made so far. */
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  /** While an instance attempts the row; expires should that instance die mid-attempt. */
  claimed_until: Date | null;
  last_error: string | null;
  /** When it stopped waiting: taken by the platform, refused, or out of attempts (outcome says which). */
  done_at: Date | null;
  outcome: 'delivered' | 'refused' | 'failed' | null;
  created_at: Generated<Date>;
}

export type QuotaAlertDeliveryRow = Selectable<QuotaAlertDeliveryTable>;
