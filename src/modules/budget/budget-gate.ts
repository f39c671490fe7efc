import type { Logger } from '../../shared/logger.ts';
import type { CompletionCaller } from '../completion/index.ts';
import type { Admission, AdmissionRequest, RequestGate } from '../completion/index.ts';
import type { PriceBook } from '../pricing/index.ts';
import type { BudgetService } from './budget.service.ts';

/**
 * Money budgets around the limits gate: a spent budget with a hard stop refuses before the limits
 * are asked, and each settlement adds the request's cost to the caller's budgets.
 */
export class BudgetGate implements RequestGate {
  readonly #inner: RequestGate;
  readonly #budgets: BudgetService;
  readonly #prices: PriceBook;
  readonly #logger: Logger;

  constructor(inner: RequestGate, budgets: BudgetService, prices: PriceBook, logger: Logger) {
    this.#inner = inner;
    this.#budgets = budgets;
    this.#prices = prices;
    this.#logger = logger;
  }

  async admit(caller: CompletionCaller, request: AdmissionRequest): Promise<Admission> {
    const check = this.#budgets.admit(caller);
    if (check) await check;
    const admission = await this.#inner.admit(caller, request);
    return {
      headers: admission.headers,
      ...(admission.verdict ? { verdict: admission.verdict } : {}),
      get repeated() {
        return admission.repeated;
      },
      settle: (usage, options) => {
        const settled = admission.settle(usage, options);
        // A retry of a request already counted is not spent twice.
        if (usage && !admission.repeated) {
          const cost = this.#prices.cost(request.model, usage.promptTokens, usage.completionTokens);
          this.#budgets.spend(caller, cost).catch((error: unknown) => this.#logger.warn({ err: error, tenantId: caller.tenantId }, 'could not count a request against its budgets'));
        }
        return settled;
      },
    };
  }
}
