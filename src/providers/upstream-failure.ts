import type { IncomingHttpHeaders } from 'node:http';
import { asObject, stringField } from './json-fields.ts';
import { ProviderError, type ProviderErrorKind } from './provider-error.ts';

// Turns what came back (or did not) into a ProviderError with a kind. Classification only: the
// router owns the policy.

export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  if (status >= 400) return 'client';
  return 'protocol';
}

/** Retry-After as delay seconds or an HTTP date, or OpenAI's retry-after-ms; undefined if absent or unreadable. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const ms = headers['retry-after-ms'];
  if (typeof ms === 'string' && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers['retry-after'];
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The human part of an error body: OpenAI's {error:{message}}, Ollama's {error:"..."}, or the text itself. */
export function upstreamMessage(bodyText: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return bodyText.slice(0, 500);
  }
  const object = asObject(parsed);
  const error = object?.error;
  if (typeof error === 'string') return error;
  return stringField(asObject(error), 'message') ?? stringField(object, 'message') ?? bodyText.slice(0, 500);
}

export function failureFromStatus(provider: string, status: number, headers: IncomingHttpHeaders, bodyText: string): ProviderError {
  const message = upstreamMessage(bodyText);
  return new ProviderError(kindForStatus(status), provider, `${provider} answered ${status}: ${message}`, {
    status,
    retryAfterMs: retryAfterMs(headers),
    upstreamMessage: message,
  });
}

const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * An exception from undici. Before a response everything is a connect failure (nothing usable came
 * back, so trying elsewhere is safe); once the body was flowing it is a truncated response.
 */
export function failureFromException(
  provider: string,
  error: unknown,
  signal: AbortSignal | undefined,
  phase: 'request' | 'body',
): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal?.aborted) return new ProviderError('aborted', provider, `call to ${provider} aborted`, { cause: error });
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && timeoutCodes.has(code)) {
    return new ProviderError('timeout', provider, `${provider} timed out: ${detail}`, { cause: error });
  }
  if (phase === 'request') return new ProviderError('connect', provider, `cannot reach ${provider}: ${detail}`, { cause: error });
  return new ProviderError('protocol', provider, `${provider} response broke off: ${detail}`, { cause: error });
}
