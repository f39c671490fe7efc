import type { ServerResponse } from 'node:http';
import { DomainError, httpStatusFor, type ErrorCode } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { LimitRefusal } from '../../modules/limits/index.ts';
import { ClientGone } from './shim-context.ts';

// OpenAI's own code where ours differs from it in more than case.
const openAiCodeFor: Partial<Record<ErrorCode, string>> = { UNAVAILABLE: 'service_unavailable' };

// OpenAI's error body: { error: { message, type, param, code } }, with the status its SDKs map to classes.
const typeFor: Record<ErrorCode, string> = {
  UNAUTHENTICATED: 'authentication_error',
  FORBIDDEN: 'permission_error',
  NOT_FOUND: 'not_found_error',
  BAD_USER_INPUT: 'invalid_request_error',
  PAYLOAD_TOO_LARGE: 'invalid_request_error',
  RATE_LIMITED: 'rate_limit_error',
  QUOTA_EXCEEDED: 'insufficient_quota',
  BUDGET_EXCEEDED: 'insufficient_quota',
  UPSTREAM_UNAVAILABLE: 'service_unavailable',
  UPSTREAM_TIMEOUT: 'timeout',
  UPSTREAM_ERROR: 'upstream_error',
  UNAVAILABLE: 'service_unavailable',
  INTERNAL_SERVER_ERROR: 'server_error',
};

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string; budget?: unknown };
}

export function openAiError(error: unknown, logger: Logger, requestId: string): { status: number; body: OpenAiErrorBody; headers: Record<string, string> } {
  if (error instanceof DomainError) {
    // A limit's refusal carries the x-ratelimit-* headers as OpenAI sends them on a 429.
    const headers: Record<string, string> = error instanceof LimitRefusal ? { ...error.headers } : {};
    const retryAfter = error.details.retryAfter;
    if (typeof retryAfter === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfter)));
    const param = typeof error.details.param === 'string' ? error.details.param : null;
    // A refusal with a reason of its own (tenant_suspended) names it rather than its class.
    const code = typeof error.details.reason === 'string' ? error.details.reason : (openAiCodeFor[error.code] ?? error.code.toLowerCase());
    return {
      status: httpStatusFor[error.code],
      // A spent budget says which, how much and until when.
      body: { error: { message: error.message, type: typeFor[error.code], param, code, ...(error.details.budget ? { budget: error.details.budget } : {}) } },
      headers,
    };
  }
  if (error instanceof ClientGone) {
    // The request log line already says "cancelled"; there is no one left to send the answer to.
    return { status: 499, body: { error: { message: error.message, type: 'client_closed_request', param: null, code: 'client_closed_request' } }, headers: {} };
  }
  logger.error({ err: error, requestId }, 'unexpected error in the /v1 shim');
  return {
    status: 500,
    body: { error: { message: `Unexpected error (request ${requestId}).`, type: 'server_error', param: null, code: 'internal_server_error' } },
    headers: {},
  };
}

export function sendOpenAiError(res: ServerResponse, error: unknown, logger: Logger, requestId: string): void {
  const { status, body, headers } = openAiError(error, logger, requestId);
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
