/** Who is calling. Every surface (GraphQL over HTTP and WebSocket, /v1) resolves one of these first. */
export type Principal =
  | { kind: 'anonymous' }
  | {
      kind: 'platform';
      /** Set when the platform acts for a tenant with X-Tenant-ID. */
      tenantId: string | undefined;
      userId: string | undefined;
    }
  /**
   * A tenant API key; `userId` is the caller's X-User-ID, recorded but not verified. `expiresAt` (epoch
   * ms): when the secret presented stops being accepted (the key's expiry, or the end of the grace
   * period of a rotated key's previous secret), if ever.
   */
  | { kind: 'api-key'; tenantId: string; keyId: string; scopes: readonly string[]; userId: string | undefined; expiresAt: number | undefined }
  /** A dashboard user's JWT; `expiresAt` (epoch ms) is the token's `exp`. */
  | { kind: 'user'; tenantId: string; userId: string; role: 'admin' | 'member'; expiresAt: number | undefined };

export type TenantPrincipal = Exclude<Principal, { kind: 'anonymous' }>;

/** The raw credentials a request carried, whatever the transport. */
export interface Credentials {
  authorization: string | undefined;
  tenantId: string | undefined;
  userId: string | undefined;
  /** The console's session cookie; GraphQL alone accepts it, and only without an Authorization header. */
  sessionToken?: string | undefined;
}

/** The tenant a principal acts within, if any. */
export function principalTenantId(principal: Principal): string | undefined {
  return principal.kind === 'anonymous' ? undefined : principal.tenantId;
}

/** A short, secret-free description for audit rows and logs. */
export function describeActor(principal: Principal): { type: string; id: string } {
  switch (principal.kind) {
    case 'anonymous':
      return { type: 'anonymous', id: '-' };
    case 'platform':
      return { type: 'platform', id: principal.userId ?? 'admin-key' };
    case 'api-key':
      return { type: 'api-key', id: principal.keyId };
    case 'user':
      return { type: 'user', id: principal.userId };
  }
}
