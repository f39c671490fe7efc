import { badInput, notFound } from '../../shared/errors.ts';
import type { CompletionCaller } from '../completion/index.ts';
import type { UsageStore } from '../usage/index.ts';

export interface FeedbackInput {
  requestId: string;
  metric: string;
  value: number | boolean;
}

export interface RecordedFeedback {
  requestId: string;
  metric: string;
  /** Booleans are kept as 1 (true) and 0 (false), so rates and means read alike. */
  value: number;
}

export interface FeedbackServiceOptions {
  store: UsageStore;
  /** Hands this instance's recorded usage events to the store, for a request answered a moment ago. */
  flushUsage: () => Promise<void>;
}

const metricName = /^[A-Za-z0-9_.:-]{1,64}$/;
const maxRequestIdLength = 512;

/**
 * Feedback on a request's answer, from the tenant that made the request only: another tenant's
 * request id is NOT_FOUND, as if it did not exist. One value per request and metric; a repeat is
 * accepted and changes nothing.
 */
export class FeedbackService {
  readonly #options: FeedbackServiceOptions;

  constructor(options: FeedbackServiceOptions) {
    this.#options = options;
  }

  async record(caller: Pick<CompletionCaller, 'tenantId'>, input: FeedbackInput): Promise<RecordedFeedback> {
    const { requestId, metric } = input;
    if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > maxRequestIdLength) {
      throw badInput(`request_id must be 1 to ${maxRequestIdLength} characters`, { param: 'request_id' });
    }
    if (typeof metric !== 'string' || !metricName.test(metric)) throw badInput('metric must be 1 to 64 letters, digits, "_", ".", ":" or "-"', { param: 'metric' });
    const value = typeof input.value === 'boolean' ? (input.value ? 1 : 0) : input.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw badInput('value must be a finite number or a boolean', { param: 'value' });
    if (!(await this.#requestOf(caller.tenantId, requestId))) throw notFound('request', requestId);
    await this.#options.store.insertFeedback({ tenantId: caller.tenantId, requestId, metric, value, ts: new Date() });
    return { requestId, metric, value };
  }

  /** A request answered here a moment ago may still wait in the meter: hand it over once before saying no. */
  async #requestOf(tenantId: string, requestId: string): Promise<boolean> {
    if (await this.#options.store.hasRequest(tenantId, requestId)) return true;
    await this.#options.flushUsage();
    return this.#options.store.hasRequest(tenantId, requestId);
  }
}
