import { Repeater } from 'graphql-yoga';
import type { Broadcast } from '../../shared/broadcast.ts';
import { quotaViewFromJson, quotaViewToJson, type QuotaView } from './quota-view.ts';

const topic = 'quota:updated';

type Listener = (view: QuotaView) => void;

/**
 * Quota updates for subscribers on every instance: one broadcast subscription per process (taken at
 * start, so nothing published after start-up is missed), fanned out to each GraphQL subscription.
 */
export class QuotaEvents {
  readonly #broadcast: Broadcast;
  readonly #listeners = new Set<Listener>();
  readonly #unsubscribe: () => void;

  constructor(broadcast: Broadcast) {
    this.#broadcast = broadcast;
    this.#unsubscribe = broadcast.subscribe(topic, (message) => {
      const view = quotaViewFromJson(message);
      for (const listener of this.#listeners) listener(view);
    });
  }

  publish(view: QuotaView): Promise<void> {
    return this.#broadcast.publish(topic, quotaViewToJson(view));
  }

  /** Updates of one tenant, or of every tenant (null), until the consumer returns. */
  subscribe(tenantId: string | null): Repeater<QuotaView> {
    return new Repeater<QuotaView>(async (push, stop) => {
      const listener: Listener = (view) => {
        if (tenantId === null || view.tenantId === tenantId) push(view).catch(() => {});
      };
      this.#listeners.add(listener);
      await stop;
      this.#listeners.delete(listener);
    });
  }

  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }
}
