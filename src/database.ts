import type { AuditLogTable } from './modules/audit/audit.table.ts';
import type { ApiKeyTable } from './modules/api-key/api-key.table.ts';
import type { ConsoleSessionTable } from './modules/console-session/console-session.table.ts';
import type { BudgetTable } from './modules/budget/budget.table.ts';
import type { InferenceConfigTable, ProviderCredentialTable } from './modules/inference-config/inference-config.table.ts';
import type { LimitOverrideTable } from './modules/limits/limit-override.table.ts';
import type { PlanPriceTable, PlanTable } from './modules/plan/plan.table.ts';
import type { ModelPriceTable } from './modules/pricing/model-price.table.ts';
import type { ResponseCacheTable } from './modules/completion/response-cache.table.ts';
import type { PromptTemplateTable } from './modules/prompt-template/prompt-template.table.ts';
import type { QuotaAlertDeliveryTable } from './modules/quota/quota-alert-delivery.table.ts';
import type { TenantTable } from './modules/tenant/tenant.table.ts';

export interface Database {
  plan: PlanTable;
  plan_price: PlanPriceTable;
  model_price: ModelPriceTable;
  tenant: TenantTable;
  api_key: ApiKeyTable;
  provider_credential: ProviderCredentialTable;
  inference_config: InferenceConfigTable;
  audit_log: AuditLogTable;
  limit_override: LimitOverrideTable;
  quota_alert_delivery: QuotaAlertDeliveryTable;
  console_session: ConsoleSessionTable;
  budget: BudgetTable;
  response_cache: ResponseCacheTable;
  prompt_template: PromptTemplateTable;
}
