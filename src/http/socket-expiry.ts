import type { Principal } from '../modules/identity/index.ts';
import type { SocketContext } from './socket-credentials.ts';

// setTimeout fires at once past this delay (about 24.8 days), so a longer wait is taken in steps.
const longestTimerMs = 2 ** 31 - 1;

function closeAtExpiry(expiresAt: number, close: () => void, armed: (timer: NodeJS.Timeout) => void): void {
  const wait = expiresAt - Date.now();
  const timer = setTimeout(() => (wait > longestTimerMs ? closeAtExpiry(expiresAt, close, armed) : close()), Math.max(0, Math.min(wait, longestTimerMs)));
  timer.unref();
  armed(timer);
}

/**
 * A socket lives no longer than its token or key secret: its subscriptions would otherwise go on
 * streaming. One timer per socket, replaced whenever its credentials are checked again.
 */
export class SocketExpiry {
  readonly #timers = new Map<SocketContext, NodeJS.Timeout>();

  /** Closes the socket with 4403 when the principal's credentials expire; a principal without an expiry stops any earlier timer. */
  closeWhenExpired(ctx: SocketContext, principal: Principal): void {
    this.cancel(ctx);
    if ((principal.kind !== 'user' && principal.kind !== 'api-key') || principal.expiresAt === undefined) return;
    const reason = principal.kind === 'user' ? 'Forbidden: the token expired' : 'Forbidden: the API key secret is no longer accepted';
    closeAtExpiry(principal.expiresAt, () => ctx.extra.socket.close(4403, reason), (timer) => this.#timers.set(ctx, timer));
  }

  cancel(ctx: SocketContext): void {
    clearTimeout(this.#timers.get(ctx));
    this.#timers.delete(ctx);
  }
}
