import { lexicographicSortSchema, printSchema } from 'graphql';
import { guardArguments } from './argument-guard.ts';
import { builder } from './builder.ts';
import './modules/api-key/api-key.schema.ts';
import './modules/auth/viewer.schema.ts';
import './modules/plan/plan.schema.ts';
import './modules/tenant/tenant.schema.ts';
import './modules/inference-config/inference-config.schema.ts';
import './modules/audit/audit.schema.ts';
import './modules/completion/completion.schema.ts';
import './modules/model-catalog/model-catalog.schema.ts';
import './modules/usage/usage.schema.ts';
import './modules/limits/limits.schema.ts';
import './modules/quota/quota.schema.ts';
import './modules/billing/billing.schema.ts';
import './modules/budget/budget.schema.ts';
import './modules/pricing/model-price.schema.ts';
import './modules/experiment/experiment.schema.ts';
import './modules/feedback/feedback.schema.ts';
import './modules/prompt-template/prompt-template.schema.ts';

// Every argument is checked for values no store can hold before a resolver sees it.
export const schema = guardArguments(builder.toSchema());

/** The published contract: sorted so diffs show real changes only. */
export const printSortedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
