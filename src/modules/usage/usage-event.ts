import { newEventId } from '../../shared/ids.ts';

/**
 * One request's usage, whatever its end (SPEC.md, "Usage events"). Settled exactly once, in `finally`,
 * by the service that handled the request; stores deduplicate on `eventId`.
 */
export interface UsageEvent {
  eventId: string;
  requestId: string;
  /** When the request started (UTC, millisecond precision). */
  ts: Date;
  tenantId: string;
  userId: string | null;
  apiKeyId: string | null;
  requestedModel: string;
  servedModel: string | null;
  provider: string | null;
  deployment: string | null;
  kind: UsageKind;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** True when the counts were estimated locally because the upstream gave none. */
  tokensEstimated: boolean;
  /** Prompt tokens the upstream served from its prompt cache (0 when it reported none). */
  cachedTokens: number;
  /** Completion tokens spent on reasoning (0 when the upstream reported none). */
  reasoningTokens: number;
  ttftMs: number | null;
  latencyMs: number;
  status: UsageStatus;
  errorCode: string | null;
  cacheHit: boolean;
  /** Price in millionths of `currency`: an integer, never a float. */
  costMicros: number;
  currency: string;
  node: string;
  /** The route the requested name went through and the rule that chose the model (null: no route). */
  route: string | null;
  routeRule: string | null;
  /** The experiment the request took part in and the variant it was given (null: none). */
  experimentId: string | null;
  variant: string | null;
  /** The prompt template the request ran, and its version; null for other requests. */
  templateName: string | null;
  templateVersion: number | null;
}

export const usageKinds = ['chat', 'completion', 'embedding'] as const;
export type UsageKind = (typeof usageKinds)[number];

export const usageStatuses = ['ok', 'error', 'refused', 'cancelled'] as const;
export type UsageStatus = (typeof usageStatuses)[number];

// Column limits shared by both stores: UInt32 counters in ClickHouse, integer columns in Postgres.
const MAX_COUNT = 2_147_483_647;
const MAX_TEXT = 512;

/** The fields a caller must give; the rest default to "nothing happened yet". */
export type UsageEventInit = Pick<UsageEvent, 'requestId' | 'tenantId' | 'requestedModel' | 'kind' | 'node'> & Partial<UsageEvent>;

/** A complete event with a fresh id, the current time, zero counts and status ok unless given. */
export function newUsageEvent(init: UsageEventInit): UsageEvent {
  const promptTokens = init.promptTokens ?? 0;
  const completionTokens = init.completionTokens ?? 0;
  return {
    eventId: newEventId(),
    ts: new Date(),
    userId: null,
    apiKeyId: null,
    servedModel: null,
    provider: null,
    deployment: null,
    tokensEstimated: false,
    cachedTokens: 0,
    reasoningTokens: 0,
    ttftMs: null,
    latencyMs: 0,
    status: 'ok',
    errorCode: null,
    cacheHit: false,
    costMicros: 0,
    currency: 'USD',
    route: null,
    routeRule: null,
    experimentId: null,
    variant: null,
    templateName: null,
    templateVersion: null,
    ...init,
    promptTokens,
    completionTokens,
    totalTokens: init.totalTokens ?? promptTokens + completionTokens,
  };
}

const count = (value: unknown, max = MAX_COUNT): number => {
  const n = typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : 0;
  return Math.min(Math.max(n, 0), max);
};
// Cut at MAX_TEXT without splitting a surrogate pair: half of one is a value no store can hold.
const cut = (value: string): string => (value.length > MAX_TEXT ? value.slice(0, /[\ud800-\udbff]/.test(value[MAX_TEXT - 1]!) ? MAX_TEXT - 1 : MAX_TEXT) : value);
const text = (value: unknown, fallback: string): string => (typeof value === 'string' && value.length > 0 ? cut(value) : fallback);
const optionalText = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? cut(value) : null);

/**
 * Brings an event into the ranges both stores hold, never throwing: the meter must accept whatever a
 * request's `finally` hands it. Returns the event and what had to change, for one log line.
 */
export function normaliseUsageEvent(input: UsageEvent): { event: UsageEvent; problems: string[] } {
  const problems: string[] = [];
  const raw = input as Partial<Record<keyof UsageEvent, unknown>>;
  const ts = raw.ts instanceof Date && Number.isFinite(raw.ts.getTime()) ? raw.ts : new Date(typeof raw.ts === 'string' ? raw.ts : Number.NaN);
  const validTs = Number.isFinite(ts.getTime()) && ts.getTime() >= 0 && ts.getTime() < 4_294_967_295_000;
  if (!validTs) problems.push('ts');
  if (typeof raw.eventId !== 'string' || raw.eventId.length === 0) problems.push('eventId');
  if (typeof raw.tenantId !== 'string' || raw.tenantId.length === 0) problems.push('tenantId');
  const kind = usageKinds.includes(raw.kind as UsageKind) ? (raw.kind as UsageKind) : 'chat';
  if (kind !== raw.kind) problems.push('kind');
  const status = usageStatuses.includes(raw.status as UsageStatus) ? (raw.status as UsageStatus) : 'error';
  if (status !== raw.status) problems.push('status');
  const costMicros = typeof raw.costMicros === 'number' && Number.isSafeInteger(raw.costMicros) ? raw.costMicros : 0;
  if (costMicros !== raw.costMicros) problems.push('costMicros');
  const promptTokens = count(raw.promptTokens);
  const completionTokens = count(raw.completionTokens);
  for (const [name, value, normalised] of [
    ['promptTokens', raw.promptTokens, promptTokens],
    ['completionTokens', raw.completionTokens, completionTokens],
  ] as const) {
    if (value !== normalised) problems.push(name);
  }
  const event: UsageEvent = {
    // Only an event without one gets a new id (generating the fallback eagerly cost a CSPRNG read per event).
    eventId: typeof raw.eventId === 'string' && raw.eventId.length > 0 ? cut(raw.eventId) : newEventId(),
    requestId: text(raw.requestId, ''),
    ts: validTs ? new Date(ts.getTime()) : new Date(),
    tenantId: text(raw.tenantId, 'unknown'),
    userId: optionalText(raw.userId),
    apiKeyId: optionalText(raw.apiKeyId),
    requestedModel: text(raw.requestedModel, ''),
    servedModel: optionalText(raw.servedModel),
    provider: optionalText(raw.provider),
    deployment: optionalText(raw.deployment),
    kind,
    promptTokens,
    completionTokens,
    totalTokens: raw.totalTokens === undefined ? promptTokens + completionTokens : count(raw.totalTokens),
    tokensEstimated: raw.tokensEstimated === true,
    cachedTokens: count(raw.cachedTokens),
    reasoningTokens: count(raw.reasoningTokens),
    ttftMs: raw.ttftMs === null || raw.ttftMs === undefined ? null : count(raw.ttftMs),
    latencyMs: count(raw.latencyMs),
    status,
    errorCode: optionalText(raw.errorCode),
    cacheHit: raw.cacheHit === true,
    costMicros,
    currency: typeof raw.currency === 'string' && /^[A-Z]{3}$/.test(raw.currency) ? raw.currency : 'USD',
    node: text(raw.node, ''),
    route: optionalText(raw.route),
    routeRule: optionalText(raw.routeRule),
    experimentId: optionalText(raw.experimentId),
    variant: optionalText(raw.variant),
    templateName: optionalText(raw.templateName),
    templateVersion: raw.templateVersion === null || raw.templateVersion === undefined ? null : count(raw.templateVersion),
  };
  if (event.currency !== raw.currency) problems.push('currency');
  return { event, problems };
}

/** The spool's line form: plain JSON with the time as epoch milliseconds. */
export function usageEventToJson(event: UsageEvent): string {
  return JSON.stringify({ ...event, ts: event.ts.getTime() });
}

export function usageEventFromJson(line: string): UsageEvent {
  const parsed = JSON.parse(line) as Omit<UsageEvent, 'ts'> & { ts: number };
  return { ...parsed, ts: new Date(parsed.ts) };
}
