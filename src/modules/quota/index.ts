// The quota module's door: what other modules and the app may use. Everything else in the folder is private.
export type { QuotaAlertDeliveryTable } from './quota-alert-delivery.table.ts';
export { QuotaAlertOutbox } from './quota-alert-outbox.ts';
export { QuotaEvents } from './quota-events.ts';
export { QuotaWebhook } from './quota-webhook.ts';
export { QuotaService } from './quota.service.ts';
