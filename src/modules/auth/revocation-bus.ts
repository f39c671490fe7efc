import type { Logger } from '../../shared/logger.ts';
import { openSubscriber, type RedisClient } from '../../storage/redis-connection.ts';

/** What an instance does when told an API key changed: forget one cached key, or all of them. */
export interface RevocationListener {
  evict(keyId: string): void;
  /** Messages may have been missed (the subscriber reconnected): nothing cached can be trusted. */
  evictAll(): void;
}

/**
 * Tells every instance that an API key was revoked, rotated or created, so none keeps serving a stale
 * cached copy. The publishing instance's listeners hear it at once, before publish() resolves.
 */
export interface RevocationBus {
  publish(keyId: string): Promise<void>;
  subscribe(listener: RevocationListener): () => void;
  close(): Promise<void>;
}

export const revocationChannel = 'tollgate:api-key:changed';

/** One process: listeners are called in place. */
export function createLocalRevocationBus(): RevocationBus {
  const listeners = new Set<RevocationListener>();
  return {
    publish: async (keyId) => {
      for (const listener of listeners) listener.evict(keyId);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: async () => listeners.clear(),
  };
}

/** Several instances: Redis pub/sub, on its own connection since a subscribed connection can do nothing else. */
export async function createRedisRevocationBus(redis: RedisClient, logger: Logger, channel = revocationChannel): Promise<RevocationBus> {
  const listeners = new Set<RevocationListener>();
  const subscriber = openSubscriber(redis);
  let disconnected = false;
  subscriber.on('message', (from: string, keyId: string) => {
    if (from !== channel) return;
    for (const listener of listeners) listener.evict(keyId);
  });
  subscriber.on('close', () => {
    if (!disconnected) logger.warn({ channel }, 'API key revocation subscriber disconnected; reconnecting');
    disconnected = true;
  });
  subscriber.on('error', (error: Error) => logger.debug({ err: error }, 'API key revocation subscriber error'));
  subscriber.on('ready', () => {
    if (!disconnected) return;
    disconnected = false;
    logger.info({ channel }, 'API key revocation subscriber reconnected; dropping cached keys');
    for (const listener of listeners) listener.evictAll();
  });
  try {
    await subscriber.connect();
    await subscriber.subscribe(channel);
  } catch (error) {
    subscriber.disconnect();
    throw new Error(`cannot subscribe to ${channel} on Redis: ${(error as Error).message}`, { cause: error });
  }
  return {
    publish: async (keyId) => {
      for (const listener of listeners) listener.evict(keyId);
      try {
        await redis.publish(channel, keyId);
      } catch (error) {
        // The change is committed; other instances drop their copy when its cache time runs out.
        logger.error({ err: error, keyId }, 'could not broadcast an API key change; other instances may accept it until their cache expires');
      }
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: async () => {
      listeners.clear();
      disconnected = false;
      subscriber.removeAllListeners('close');
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
