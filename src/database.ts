import type { AuditLogTable } from './modules/audit/index.ts';
import type { ApiKeyTable } from './modules/api-key/index.ts';
import type { ConsoleSessionTable } from './modules/console-session/index.ts';
import type { BudgetTable } from './modules/budget/index.ts';
import type { ExperimentTable } from './modules/experiment/index.ts';
import type { InferenceConfigTable, ProviderCredentialTable } from './modules/inference-config/index.ts';
import type { LimitOverrideTable } from './modules/limits/index.ts';
import type { PlanPriceTable, PlanTable } from './modules/plan/index.ts';
import type { ModelPriceTable } from './modules/pricing/index.ts';
import type { ResponseCacheTable } from './modules/completion/index.ts';
import type { PromptTemplateTable } from './modules/prompt-template/index.ts';
import type { QuotaAlertDeliveryTable } from './modules/quota/index.ts';
import type { TenantTable } from './modules/tenant/index.ts';

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
  experiment: ExperimentTable;
  response_cache: ResponseCacheTable;
  prompt_template: PromptTemplateTable;
}
