import { DomainError } from '../shared/errors.ts';
import type { RoutedModel } from './routing-table.ts';

/** No deployment can take the request now; retryAfterMs is when the first breaker lets a call through. */
export function allUnavailable(requested: string, model: RoutedModel): DomainError {
  const retryInMs = Math.min(...model.entries.map((entry) => entry.state.breaker.retryInMs));
  return new DomainError('UPSTREAM_UNAVAILABLE', `no deployment of model "${requested}" is available right now`, {
    model: requested,
    retryAfterMs: Math.ceil(retryInMs),
  });
}

/** Every deployment left asked for a Retry-After longer than the request could wait. */
export function askedToWait(requested: string, waitMs: number): DomainError {
  return new DomainError('UPSTREAM_UNAVAILABLE', `the upstream for model "${requested}" asked to wait before the next request`, {
    model: requested,
    retryAfterMs: Math.ceil(waitMs),
  });
}

export function withDetails(error: DomainError, extra: Record<string, unknown>): DomainError {
  return new DomainError(error.code, error.message, { ...error.details, ...extra });
}
