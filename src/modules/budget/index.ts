// The budget module's door: what other modules and the app may use. Everything else in the folder is private.
export { BudgetGate } from './budget-gate.ts';
export { MemoryBudgetLedger, RedisBudgetLedger } from './budget-ledger.ts';
export { findBudgets } from './budget.repository.ts';
export { BudgetService } from './budget.service.ts';
export type { BudgetTable } from './budget.table.ts';
