import type { TenantPrincipal } from '../modules/identity/index.ts';
import type { SocketContext } from './socket-credentials.ts';

type Index = Map<string, Set<SocketContext>>;

const addTo = (index: Index, id: string, ctx: SocketContext) => index.set(id, (index.get(id) ?? new Set()).add(ctx));

function removeFrom(index: Index, id: string | undefined, ctx: SocketContext): void {
  if (id === undefined) return;
  const contexts = index.get(id);
  contexts?.delete(ctx);
  if (contexts?.size === 0) index.delete(id);
}

/**
 * The sockets that are open now, indexed by the API key and by the tenant they were opened with, so
 * they can be checked again when either changes.
 */
export class OpenSockets {
  readonly #open = new Set<SocketContext>();
  readonly #byApiKey: Index = new Map();
  readonly #byTenant: Index = new Map();
  readonly #openedWith = new WeakMap<SocketContext, { keyId?: string; tenantId?: string }>();

  add(ctx: SocketContext, principal: TenantPrincipal): void {
    this.#open.add(ctx);
    const keyId = principal.kind === 'api-key' ? principal.keyId : undefined;
    if (keyId !== undefined) addTo(this.#byApiKey, keyId, ctx);
    if (principal.tenantId !== undefined) addTo(this.#byTenant, principal.tenantId, ctx);
    this.#openedWith.set(ctx, { keyId, tenantId: principal.tenantId });
  }

  delete(ctx: SocketContext): void {
    this.#open.delete(ctx);
    const { keyId, tenantId } = this.#openedWith.get(ctx) ?? {};
    removeFrom(this.#byApiKey, keyId, ctx);
    removeFrom(this.#byTenant, tenantId, ctx);
  }

  has(ctx: SocketContext): boolean {
    return this.#open.has(ctx);
  }

  openedWithKey(keyId: string): SocketContext[] {
    return [...(this.#byApiKey.get(keyId) ?? [])];
  }

  openedInTenant(tenantId: string): SocketContext[] {
    return [...(this.#byTenant.get(tenantId) ?? [])];
  }

  /** Every socket opened in some tenant. */
  openedInAnyTenant(): SocketContext[] {
    return [...this.#byTenant.values()].flatMap((contexts) => [...contexts]);
  }

  /** Operations running now across all sockets. */
  activeOperations(): number {
    return [...this.#open].reduce((sum, ctx) => sum + Object.keys(ctx.subscriptions).length, 0);
  }
}
