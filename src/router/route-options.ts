import type { TraceSpan } from '../observability/tracing.ts';
import type { Need } from './capabilities-needed.ts';
import type { RouteDecision } from './route-rules.ts';
import type { TenantRoutingPrefs } from './tenant-routing.ts';

export interface RouteOptions {
  /** The caller's lifetime: when it aborts, the upstream request is aborted too. */
  signal?: AbortSignal;
  tenant?: TenantRoutingPrefs;
  requestId?: string;
  /** The request's span (tracing on): each attempt gets a child span whose traceparent goes upstream. */
  trace?: TraceSpan | undefined;
  /** The caller's traceparent, sent upstream as it is when the gateway does not trace. */
  traceparent?: string | undefined;
  /** What the request asks of its deployment (set by the router from the request itself). */
  needs?: readonly Need[];
  /** The model select() chose for this request; without it the requested name is resolved here. */
  choice?: ModelChoice;
}

/** The configured model a request goes to, and the route decision that chose it, if any. */
export interface ModelChoice {
  model: string;
  route?: RouteDecision;
}
