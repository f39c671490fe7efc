/**
 * What went wrong with an upstream call, as a fact about the call: the router turns the kind into
 * policy (retry, fail over, count against the breaker, what the caller sees).
 */
export type ProviderErrorKind =
  | 'connect' // no response: refused, reset, DNS, connect timeout
  | 'timeout' // the upstream itself timed out (408)
  | 'rate_limited' // 429
  | 'server' // 5xx, or an error event inside a stream
  | 'client' // any other 4xx: the request or the credential was refused
  | 'protocol' // an unreadable, truncated or malformed response
  | 'aborted'; // the caller's signal fired

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly provider: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** The upstream's own words from its error body, without our framing (safe to relay for a 4xx). */
  readonly upstreamMessage: string | undefined;

  constructor(
    kind: ProviderErrorKind,
    provider: string,
    message: string,
    details: { status?: number; retryAfterMs?: number; upstreamMessage?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.provider = provider;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.upstreamMessage = details.upstreamMessage;
  }
}
