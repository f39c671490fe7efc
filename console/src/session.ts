/** What the gateway says about a console error: its message and the request id to quote. */
export class ConsoleError extends Error {
  readonly requestId: string | undefined;
  constructor(message: string, requestId: string | undefined) {
    super(message);
    this.requestId = requestId;
  }
}

async function sessionRequest(method: 'POST' | 'DELETE', body?: unknown): Promise<void> {
  const response = await fetch('/console/session', {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (response.ok) return;
  const requestId = response.headers.get('x-request-id') ?? undefined;
  const payload = (await response.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  throw new ConsoleError(payload?.error?.message ?? `the gateway answered ${response.status}`, requestId);
}

/** Exchanges a secret for a session cookie; the secret is not kept anywhere in the browser. */
export const signIn = (secret: string) => sessionRequest('POST', { secret });

export const signOut = () => sessionRequest('DELETE');

/** Whether the gateway offers single sign-on. */
export async function ssoAvailable(): Promise<boolean> {
  const response = await fetch('/console/session', { credentials: 'same-origin' });
  if (!response.ok) return false;
  return ((await response.json()) as { sso?: boolean }).sso === true;
}

/** A refused single sign-on comes back as ?sso_error=...&request_id=...; taken out of the address bar once read. */
export function takeSsoError(): ConsoleError | undefined {
  const params = new URLSearchParams(window.location.search);
  const message = params.get('sso_error');
  if (message === null) return undefined;
  window.history.replaceState(null, '', window.location.pathname);
  return new ConsoleError(message, params.get('request_id') || undefined);
}
