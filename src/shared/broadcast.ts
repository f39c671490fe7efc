import { randomUUID } from 'node:crypto';
import type { Logger } from './logger.ts';
import { openSubscriber, type RedisClient } from '../storage/redis-connection.ts';

/**
 * Messages every instance hears: Redis pub/sub when configured, in-process otherwise. The publishing
 * instance's own listeners are called at once (before publish resolves, even with Redis down), and
 * its echo from Redis is skipped, so each listener hears each message once.
 */
export interface Broadcast {
  publish(topic: string, message: string): Promise<void>;
  subscribe(topic: string, listener: (message: string) => void): () => void;
  /** Resolves once every subscription made so far hears other instances (Redis SUBSCRIBE is asynchronous). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

type Listener = (message: string) => void;

class Topics {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Returns true when it was the topic's first listener. */
  add(topic: string, listener: Listener): boolean {
    let set = this.#listeners.get(topic);
    const first = !set;
    if (!set) {
      set = new Set();
      this.#listeners.set(topic, set);
    }
    set.add(listener);
    return first;
  }

  /** Returns true when it was the topic's last listener. */
  remove(topic: string, listener: Listener): boolean {
    const set = this.#listeners.get(topic);
    if (!set?.delete(listener) || set.size > 0) return false;
    this.#listeners.delete(topic);
    return true;
  }

  deliver(topic: string, message: string): void {
    for (const listener of this.#listeners.get(topic) ?? []) {
      try {
        listener(message);
      } catch (error) {
        this.#logger.error({ err: error, topic }, 'a broadcast listener threw');
      }
    }
  }

  topics(): string[] {
    return [...this.#listeners.keys()];
  }

  clear(): void {
    this.#listeners.clear();
  }
}

export function createLocalBroadcast(logger: Logger): Broadcast {
  const topics = new Topics(logger);
  return {
    publish: async (topic, message) => topics.deliver(topic, message),
    subscribe: (topic, listener) => {
      topics.add(topic, listener);
      return () => topics.remove(topic, listener);
    },
    ready: async () => {},
    close: async () => topics.clear(),
  };
}

/** Channels are `${channelPrefix}${topic}`; messages travel as `${origin}\n${message}`. */
export async function createRedisBroadcast(redis: RedisClient, logger: Logger, channelPrefix: string): Promise<Broadcast> {
  const origin = randomUUID();
  const topics = new Topics(logger);
  const subscriber = openSubscriber(redis);
  let down = false;
  let subscribed: Promise<unknown> = Promise.resolve();
  subscriber.on('message', (channel: string, payload: string) => {
    if (!channel.startsWith(channelPrefix)) return;
    const newline = payload.indexOf('\n');
    if (newline < 0 || payload.slice(0, newline) === origin) return;
    topics.deliver(channel.slice(channelPrefix.length), payload.slice(newline + 1));
  });
  subscriber.on('close', () => {
    if (!down) logger.warn({ channelPrefix }, 'broadcast subscriber disconnected; reconnecting');
    down = true;
  });
  subscriber.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ channelPrefix }, 'broadcast subscriber reconnected');
  });
  subscriber.on('error', (error: Error) => logger.debug({ err: error }, 'broadcast subscriber error'));
  try {
    await subscriber.connect();
  } catch (error) {
    subscriber.disconnect();
    throw new Error(`cannot open the broadcast subscriber on Redis: ${(error as Error).message}`, { cause: error });
  }
  return {
    publish: async (topic, message) => {
      topics.deliver(topic, message);
      try {
        await redis.publish(`${channelPrefix}${topic}`, `${origin}\n${message}`);
      } catch (error) {
        logger.warn({ err: error, topic }, 'could not broadcast to other instances (Redis unreachable)');
      }
    },
    subscribe: (topic, listener) => {
      if (topics.add(topic, listener)) {
        const subscribing = subscriber
          .subscribe(`${channelPrefix}${topic}`)
          .catch((error: unknown) => logger.warn({ err: error, topic }, 'could not subscribe to a broadcast topic'));
        subscribed = Promise.all([subscribed, subscribing]);
      }
      return () => {
        if (topics.remove(topic, listener)) subscriber.unsubscribe(`${channelPrefix}${topic}`).catch(() => {});
      };
    },
    ready: async () => {
      await subscribed;
    },
    close: async () => {
      topics.clear();
      down = false;
      subscriber.removeAllListeners('close');
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
