import { DomainError } from '../shared/errors.ts';

// What a lost or refused connection looks like from pg: a socket error, the pool's connect timeout,
// SQLSTATE class 08 (connection exception) or 57P01-57P03 (the server shutting down or starting).
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const connectionStates = /^(08...|57P0[123])$/;
const connectionMessages = /connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i;

/** Whether a pg error says the database could not be reached, rather than that a statement failed. */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (networkCodes.has(code) || connectionStates.test(code))) return true;
  return connectionMessages.test(error.message);
}

/** The database is unreachable: 503 on /v1, UNAVAILABLE in GraphQL, never an unexpected error. */
export function databaseUnavailable(cause: unknown): DomainError {
  const error = new DomainError('UNAVAILABLE', 'The database is unreachable, so this request cannot be served now. Please retry shortly.', {
    dependency: 'database',
    retryAfter: 5,
  });
  error.cause = cause;
  return error;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return error instanceof DomainError && error.code === 'UNAVAILABLE' && error.details.dependency === 'database';
}
