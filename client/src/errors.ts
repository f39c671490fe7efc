/** One class per `extensions.code`, so callers can `catch (e) { if (e instanceof RateLimitedError) ... }`. */
export class TollgateError extends Error {
  readonly code: string;
  readonly extensions: Record<string, unknown>;
  readonly path: readonly (string | number)[] | undefined;
  /** The gateway's X-Request-ID for the call that failed, to quote when reporting it. */
  readonly requestId: string | undefined;
  constructor(message: string, code: string, extensions: Record<string, unknown> = {}, path?: readonly (string | number)[], requestId?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.extensions = extensions;
    this.path = path;
    this.requestId = requestId;
  }
}

export class UnauthenticatedError extends TollgateError {}
export class ForbiddenError extends TollgateError {}
export class NotFoundError extends TollgateError {}
export class BadUserInputError extends TollgateError {}
export class QuotaExceededError extends TollgateError {}
export class UpstreamError extends TollgateError {}
/** A store the gateway needs (its database) is unreachable; the same call can succeed shortly. */
export class UnavailableError extends TollgateError {}
export class RateLimitedError extends TollgateError {
  /** Seconds to wait before trying again, when the gateway said. */
  get retryAfter(): number | undefined {
    const value = this.extensions.retryAfter;
    return typeof value === 'number' ? value : undefined;
  }
}

const classes: Record<string, typeof TollgateError> = {
  UNAUTHENTICATED: UnauthenticatedError,
  FORBIDDEN: ForbiddenError,
  NOT_FOUND: NotFoundError,
  BAD_USER_INPUT: BadUserInputError,
  GRAPHQL_VALIDATION_FAILED: BadUserInputError,
  GRAPHQL_PARSE_FAILED: BadUserInputError,
  RATE_LIMITED: RateLimitedError,
  QUOTA_EXCEEDED: QuotaExceededError,
  UPSTREAM_UNAVAILABLE: UpstreamError,
  UPSTREAM_ERROR: UpstreamError,
  UPSTREAM_TIMEOUT: UpstreamError,
  UNAVAILABLE: UnavailableError,
};

export interface GraphQLErrorShape {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

export function toTollgateError(error: GraphQLErrorShape, requestId?: string): TollgateError {
  const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
  const ErrorClass = classes[code] ?? TollgateError;
  return new ErrorClass(error.message, code, error.extensions ?? {}, error.path, requestId);
}
