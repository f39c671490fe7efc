import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { graphqlRequest, testAdminKey, type TestApp } from '../testkit/app.ts';
import { randomId } from '../../src/shared/ids.ts';
import type { Fresh, GraphqlRow, MatrixRow, Outcome, Ref, SeededObjects, V1Row, Variables, Viewpoint } from './matrix.ts';
import { fixtures, rowName } from './matrix.ts';

// Runs the rows of matrix.ts as real requests: GraphQL over HTTP, subscriptions over SSE and graphql-ws, /v1 over
// fetch. Each cell's answer is classified (ALLOWED or an error code) and scanned for the target
// tenant's data that the caller did not send itself.

export const jwtSecret = 'matrix-dashboard-jwt-secret-0123456789';

/** One tenant as the walk seeds it: its objects, and the credentials of its principals. */
export interface SeededTenant extends SeededObjects {
  keySecret: string;
  /** Keys of a single scope each: inference, usage:read, admin. */
  inferenceKeySecret: string;
  usageKeySecret: string;
  adminScopeKeySecret: string;
  memberUserId: string;
  adminUserId: string;
  memberToken: string;
  adminToken: string;
  /** What must never reach another tenant's caller: ids, names, users, secrets. */
  sensitive: string[];
}

export interface Cell {
  row: MatrixRow;
  viewpoint: Viewpoint;
  expected: Outcome;
  got: Outcome | `other: ${string}`;
  /** The target tenant's strings found in the answer that the request did not carry. */
  leaked: string[];
  detail: string;
}

const admin = (tenantId?: string): Record<string, string> => ({
  authorization: `Bearer ${testAdminKey}`,
  ...(tenantId ? { 'x-tenant-id': tenantId } : {}),
});

async function gql<T>(app: TestApp, document: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<T> {
  const result = await graphqlRequest<T>(app.url, document, variables, headers);
  if (result.errors || !result.data) throw new Error(`seeding failed: ${JSON.stringify(result.errors)}`);
  return result.data;
}

const token = (tenantId: string, userId: string, role: 'admin' | 'member') =>
  new SignJWT({ tid: tenantId, role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(new TextEncoder().encode(jwtSecret));

/** Creates a tenant on the enterprise plan (the walk sends dozens of completions a minute) with its keys and users. */
export async function seedTenant(app: TestApp, label: string): Promise<SeededTenant> {
  const tag = randomId(6);
  const tenantName = `${label} Matrix ${tag}`;
  const created = await gql<{ createTenant: { tenant: { id: string } } }>(
    app,
    'mutation($name: String!) { createTenant(input: { name: $name, plan: "enterprise" }) { tenant { id } } }',
    { name: tenantName },
    admin(),
  );
  const tenantId = created.createTenant.tenant.id;
  const purposes: [string, string[] | undefined][] = [
    ['inference', undefined],
    ['spare', undefined],
    ['revocable', undefined],
    ['rotatable', undefined],
    ['inference-only', ['INFERENCE']],
    ['usage-only', ['USAGE_READ']],
    ['admin-only', ['ADMIN']],
  ];
  const keyNames = purposes.map(([purpose]) => `${label.toLowerCase()}-${tag}-${purpose}`);
  const keys: { id: string; secret: string }[] = [];
  for (const [index, name] of keyNames.entries()) {
    const key = await gql<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
      app,
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } secret } }',
      { input: { tenantId, name, scopes: purposes[index]![1] } },
      admin(),
    );
    app.secrets.add(key.createApiKey.secret);
    keys.push({ id: key.createApiKey.apiKey.id, secret: key.createApiKey.secret });
  }
  const [inference, spare, revocable, rotatable, inferenceOnly, usageOnly, adminOnly] = keys as [
    (typeof keys)[0],
    (typeof keys)[0],
    (typeof keys)[0],
    (typeof keys)[0],
    (typeof keys)[0],
    (typeof keys)[0],
    (typeof keys)[0],
  ];
  const memberUserId = `user-${tag}-member`;
  const adminUserId = `user-${tag}-admin`;
  const providerSecret = `sk-${label.toLowerCase()}-${tag}-provider-secret-0123456789`;
  app.secrets.add(providerSecret);
  const memberToken = await token(tenantId, memberUserId, 'member');
  const adminToken = await token(tenantId, adminUserId, 'admin');
  app.secrets.add(memberToken);
  app.secrets.add(adminToken);
  const experiment = await gql<{ createExperiment: { experiment: { id: string } } }>(
    app,
    'mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } } }',
    { input: { tenantId, model: `experiment-${tag}`, variants: [{ name: 'a', model: 'chat-model', weight: 1 }, { name: 'b', model: 'chat-model', weight: 1 }] } },
    admin(),
  );
  // Some traffic of the tenant's own, so its usage, events and invoice have rows to leak if they could.
  const response = await fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${inference.secret}`, 'x-user-id': memberUserId, 'x-request-id': `seed-${tag}` },
    body: JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: `seed traffic of ${tenantName}` }], max_tokens: 3 }),
  });
  if (!response.ok) throw new Error(`seeding traffic failed: ${response.status} ${await response.text()}`);
  return {
    tenantId,
    tenantName,
    apiKeyId: inference.id,
    spareApiKeyId: spare.id,
    revocableApiKeyId: revocable.id,
    rotatableApiKeyId: rotatable.id,
    experimentId: experiment.createExperiment.experiment.id,
    requestId: `seed-${tag}`,
    providerSecret,
    keySecret: inference.secret,
    inferenceKeySecret: inferenceOnly.secret,
    usageKeySecret: usageOnly.secret,
    adminScopeKeySecret: adminOnly.secret,
    memberUserId,
    adminUserId,
    memberToken,
    adminToken,
    sensitive: [tenantId, tenantName, ...keys.map((k) => k.id), ...keyNames, memberUserId, adminUserId, providerSecret, ...keys.map((k) => k.secret)],
  };
}

/** Objects that do not exist, shaped like a seeded tenant's: another tenant's must be indistinguishable from them. */
export function madeUpTenant(): SeededTenant {
  const none = (prefix: string) => `${prefix}${randomId(8)}`;
  return {
    tenantId: `tnt_${randomId(12)}`,
    tenantName: 'No Such Tenant',
    apiKeyId: none(''),
    spareApiKeyId: none(''),
    revocableApiKeyId: none(''),
    rotatableApiKeyId: none(''),
    experimentId: none('exp_'),
    requestId: none('seed-'),
    providerSecret: `sk-made-up-${randomId(16)}`,
    keySecret: 'unused',
    inferenceKeySecret: 'unused',
    usageKeySecret: 'unused',
    adminScopeKeySecret: 'unused',
    memberUserId: 'unused',
    adminUserId: 'unused',
    memberToken: 'unused',
    adminToken: 'unused',
    sensitive: [],
  };
}

/** The headers of a point of view, for a walk where `own` is "tenant A" and `other` is "tenant B". */
export function headersOf(viewpoint: Viewpoint, own: SeededTenant, other: SeededTenant): Record<string, string> {
  switch (viewpoint) {
    case 'anonymous':
      return {};
    case 'tenantAKey':
      return { authorization: `Bearer ${own.keySecret}` };
    case 'tenantAInferenceKey':
      return { authorization: `Bearer ${own.inferenceKeySecret}` };
    case 'tenantAUsageKey':
      return { authorization: `Bearer ${own.usageKeySecret}` };
    case 'tenantAAdminScopeKey':
      return { authorization: `Bearer ${own.adminScopeKeySecret}` };
    case 'tenantAMember':
      return { authorization: `Bearer ${own.memberToken}` };
    case 'tenantAAdmin':
      return { authorization: `Bearer ${own.adminToken}` };
    case 'tenantBKey':
      return { authorization: `Bearer ${other.keySecret}` };
    case 'tenantBAdmin':
      return { authorization: `Bearer ${other.adminToken}` };
    case 'platform':
      return admin();
    case 'platformForA':
      return admin(own.tenantId);
  }
}

const isFresh = (value: unknown): value is Fresh => typeof value === 'object' && value !== null && 'fresh' in value && Object.keys(value).length === 1;
const isRef = (value: unknown): value is Ref => typeof value === 'object' && value !== null && 'ref' in value && Object.keys(value).length === 1;

/** Replaces every ref with the target tenant's object. */
export function resolveRefs(value: unknown, target: SeededObjects): unknown {
  if (isRef(value)) return target[value.ref];
  if (isFresh(value)) return `${value.fresh}-${randomId(10)}`;
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, target));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, target)]));
  return value;
}

interface GraphqlAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: unknown } }[];
}

/** The root field the row is about, in `data`: data.tenant.<field> for Tenant rows. */
function rowValue(row: GraphqlRow, data: GraphqlAnswer['data']): unknown {
  if (data == null) return null;
  if (row.type === 'Tenant') {
    const tenant = data.tenant as Record<string, unknown> | null | undefined;
    return tenant == null ? null : tenant[row.field];
  }
  return data[row.field];
}

function classifyGraphql(row: GraphqlRow, answer: GraphqlAnswer | undefined): { got: Cell['got']; dataPresent: boolean } {
  if (!answer) return { got: 'other: no result', dataPresent: false };
  const value = rowValue(row, answer.data);
  const dataPresent = value !== null && value !== undefined;
  if (!answer.errors || answer.errors.length === 0) return { got: dataPresent ? 'ALLOWED' : 'other: no error and no data', dataPresent };
  const codes = [...new Set(answer.errors.map((e) => String(e.extensions?.code)))];
  if (codes.length !== 1) return { got: `other: several codes ${codes.join(', ')}`, dataPresent };
  const code = codes[0]!;
  if (!['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND'].includes(code)) return { got: `other: ${code}: ${answer.errors[0]?.message}`, dataPresent };
  // A refusal comes without the field's data.
  return { got: dataPresent ? `other: ${code} with data` : (code as Outcome), dataPresent };
}

/** Reads a GraphQL subscription over SSE until its first result; `poke` runs every 100 ms meanwhile. */
export async function subscribeOnce(
  url: string,
  body: { query: string; variables: unknown },
  headers: Record<string, string>,
  poke?: () => Promise<void>,
  timeoutMs = 5_000,
): Promise<{ status: number; text: string; result: GraphqlAnswer | undefined }> {
  const controller = new AbortController();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  if (!response.headers.get('content-type')?.includes('text/event-stream') || !response.body) {
    const text = await response.text();
    let result: GraphqlAnswer | undefined;
    try {
      result = JSON.parse(text) as GraphqlAnswer;
    } catch {
      result = undefined;
    }
    return { status: response.status, text, result };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  let poking: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  if (poke) poking = setInterval(() => void poke().catch(() => {}), 100);
  try {
    for (;;) {
      const chunk = await Promise.race([reader.read(), deadline]);
      if (chunk === 'timeout') return { status: response.status, text, result: undefined };
      if (chunk.done) return { status: response.status, text, result: undefined };
      text += chunk.value;
      for (const event of text.split('\n\n').slice(0, -1)) {
        const lines = event.split('\n');
        const name = lines.find((line) => line.startsWith('event:'))?.slice(6).trim() ?? 'message';
        const data = lines.filter((line) => line.startsWith('data:')).map((line) => line.slice(5)).join('\n').trim();
        if (name === 'complete') return { status: response.status, text, result: undefined };
        if ((name === 'next' || name === 'message') && data) return { status: response.status, text, result: JSON.parse(data) as GraphqlAnswer };
      }
    }
  } finally {
    clearTimeout(timer);
    clearInterval(poking);
    controller.abort();
    await reader.cancel().catch(() => {});
  }
}

/** The same over graphql-ws: credentials in connectionParams, the first result or error of the subscription. */
export async function subscribeOverWebSocket(
  url: string,
  body: { query: string; variables: unknown },
  headers: Record<string, string>,
  poke?: () => Promise<void>,
  timeoutMs = 5_000,
): Promise<{ text: string; result: GraphqlAnswer | undefined }> {
  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { ...headers },
    retryAttempts: 0,
    lazy: true,
  });
  let poking: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await new Promise<GraphqlAnswer | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      client.subscribe(body as { query: string; variables: Record<string, unknown> }, {
        next: (value) => resolve(value as GraphqlAnswer),
        error: (error) => {
          if (Array.isArray(error)) return resolve({ errors: error as GraphqlAnswer['errors'] });
          // The gateway refuses a connection without valid credentials by closing it with 4403, which the
          // typed client (client/src/subscriptions.ts) reports as UNAUTHENTICATED; any other close is a failure.
          const code = (error as { code?: unknown }).code;
          resolve({ errors: [{ message: `socket closed with ${String(code)}`, extensions: { code: code === 4403 ? 'UNAUTHENTICATED' : `CLOSE_${String(code)}` } }] });
        },
        complete: () => resolve(undefined),
      });
      if (poke) poking = setInterval(() => void poke().catch(() => {}), 100);
    });
    return { text: JSON.stringify(result ?? null), result };
  } finally {
    clearTimeout(timer);
    clearInterval(poking);
    await client.dispose();
  }
}

const outcomeOfStatus: Record<number, Outcome> = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };

export interface WalkContext {
  app: TestApp;
  own: SeededTenant;
  other: SeededTenant;
  /** Fires a quota update of a tenant, for quotaUpdated subscribers to receive. */
  quotaUpdate(tenantId: string): Promise<void>;
  /** Fires a budget alert of a tenant, for budgetAlert subscribers to receive. */
  budgetAlert(tenantId: string): Promise<void>;
}

/** Runs one cell of the matrix and says what came back. */
export async function runCell(ctx: WalkContext, row: MatrixRow, viewpoint: Viewpoint): Promise<Cell> {
  const headers = headersOf(viewpoint, ctx.own, ctx.other);
  const expected = row.expect[viewpoint];
  const cell = (got: Cell['got'], sent: string, text: string): Cell => ({
    row,
    viewpoint,
    expected,
    got,
    leaked: ctx.own.sensitive.filter((s) => text.includes(s) && !sent.includes(s)),
    detail: text.length > 600 ? `${text.slice(0, 600)}...` : text,
  });
  if (row.surface === 'graphql') return cell(...(await runGraphql(ctx, row, headers)));
  return cell(...(await runV1(ctx, row, headers)));
}

async function runGraphql(ctx: WalkContext, row: GraphqlRow, headers: Record<string, string>): Promise<[Cell['got'], string, string]> {
  const variables = resolveRefs(row.variables, ctx.own) as Variables;
  const sent = JSON.stringify({ query: row.document, variables });
  if (row.type === 'Subscription') {
    const poke = row.field === 'quotaUpdated' ? () => ctx.quotaUpdate(ctx.own.tenantId) : row.field === 'budgetAlert' ? () => ctx.budgetAlert(ctx.own.tenantId) : undefined;
    // Both transports: SSE with the credentials in headers, graphql-ws with them in connectionParams.
    const sse = await subscribeOnce(ctx.app.url, { query: row.document, variables }, headers, poke);
    const ws = await subscribeOverWebSocket(ctx.app.url, { query: row.document, variables }, headers, poke);
    const text = `${sse.text}\n${ws.text}`;
    const outcomes = [sse.result, ws.result].map((result) => {
      const { got } = classifyGraphql(row, result);
      const data = result?.data?.[row.field] as { tenantId?: string } | undefined;
      return got === 'ALLOWED' && (row.field === 'quotaUpdated' || row.field === 'budgetAlert') && data?.tenantId !== ctx.own.tenantId ? 'other: an update of another tenant' : got;
    });
    const [overSse, overWs] = outcomes as [Cell['got'], Cell['got']];
    return [overSse === overWs ? overSse : `other: ${overSse} over SSE, ${overWs} over graphql-ws`, sent, text];
  }
  const response = await fetch(`${ctx.app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: sent,
  });
  const text = await response.text();
  let answer: GraphqlAnswer | undefined;
  try {
    answer = JSON.parse(text) as GraphqlAnswer;
  } catch {
    return [`other: HTTP ${response.status}, not JSON`, sent, text];
  }
  const answerSecrets = collectSecrets(answer.data);
  for (const secret of answerSecrets) ctx.app.secrets.add(secret);
  return [classifyGraphql(row, answer).got, sent, text];
}

/** createApiKey and rotateApiKey return secrets: the app must never log them either. */
function collectSecrets(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [];
  return Object.entries(data).flatMap(([key, value]) => (key === 'secret' && typeof value === 'string' ? [value] : collectSecrets(value)));
}

async function runV1(ctx: WalkContext, row: V1Row, headers: Record<string, string>): Promise<[Cell['got'], string, string]> {
  const query = row.query ? new URLSearchParams(resolveRefs(row.query, ctx.own) as Record<string, string>).toString() : '';
  const routePath = row.path.replace('{name}', fixtures.templateName);
  const path = query ? `${routePath}?${query}` : routePath;
  const body = row.body ? JSON.stringify(resolveRefs(row.body, ctx.own)) : undefined;
  const response = await fetch(`${ctx.app.url}${path}`, {
    method: row.method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body,
  });
  const text = await response.text();
  const sent = `${path} ${body ?? ''}`;
  if (response.ok) return [text.length > 0 ? 'ALLOWED' : 'other: empty body', sent, text];
  const outcome = outcomeOfStatus[response.status];
  let code: unknown;
  try {
    code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
  } catch {
    code = undefined;
  }
  if (!outcome || code !== outcome.toLowerCase()) return [`other: HTTP ${response.status} code ${String(code)}`, sent, text];
  return [outcome, sent, text];
}

/** A failed cell as one readable line, or undefined when the cell is as listed and leaks nothing. */
export function describeFailure(cell: Cell, target: string): string | undefined {
  const problems: string[] = [];
  if (cell.got !== cell.expected) problems.push(`expected ${cell.expected}, got ${cell.got}`);
  // Only the target tenant's own principals and the platform may see its data, and only when allowed.
  const mayReadTarget = cell.got === 'ALLOWED' && !['anonymous', 'tenantBKey', 'tenantBAdmin'].includes(cell.viewpoint);
  if (!mayReadTarget && cell.leaked.length > 0) problems.push(`answer holds ${target}'s ${cell.leaked.map((s) => JSON.stringify(s)).join(', ')}`);
  if (problems.length === 0) return undefined;
  return `${rowName(cell.row)} as ${cell.viewpoint} on ${target}'s objects: ${problems.join('; ')}\n    ${cell.detail}`;
}
