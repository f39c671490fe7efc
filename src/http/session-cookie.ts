import type { IncomingMessage } from 'node:http';

export const sessionCookieName = 'tollgate_session';

/** A cookie's value from a Cookie header, if it is there and not empty. */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const separator = part.indexOf('=');
    if (separator !== -1 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim() || undefined;
  }
  return undefined;
}

/** The session token from a Cookie header, if one is there. */
export const sessionTokenOf = (cookieHeader: string | undefined) => cookieValue(cookieHeader, sessionCookieName);

/** Served over TLS, directly or behind a proxy that terminated it. */
export function isHttps(req: IncomingMessage): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  return (req.socket as { encrypted?: boolean }).encrypted === true || (typeof forwarded === 'string' && forwarded.split(',')[0]?.trim() === 'https');
}

/** HttpOnly so scripts never read it, SameSite=Strict so no other site's page sends it. */
export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  return `${sessionCookieName}=${token}; Path=/; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${sessionCookieName}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** A browser request from this origin, or a caller that is no browser (no Origin header). */
export function isSameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
