import { EventEmitter } from 'node:events';
import { Redis, type Cluster } from 'ioredis';
import type { RedisSubscriber } from './redis-connection.ts';

/**
 * SUBSCRIBE on a Redis Cluster: a cluster delivers every PUBLISH to every node, so one connection to
 * any node hears all. When that node goes (killed, failed over), it emits `close`, moves to the next
 * node the cluster knows, subscribes again and emits `ready`. ioredis's own cluster subscriber moves
 * too but says nothing, and a listener must know it may have missed messages.
 */
export class RedisClusterSubscriber extends EventEmitter implements RedisSubscriber {
  readonly #cluster: Cluster;
  readonly #channels = new Set<string>();
  #connection: Redis | undefined;
  // Each starts on a node of its own choosing, so a fleet's subscribers spread over the cluster.
  #next = Math.floor(Math.random() * 1_000);
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(cluster: Cluster) {
    super();
    this.#cluster = cluster;
  }

  async connect(): Promise<void> {
    await this.#open();
  }

  async subscribe(channel: string): Promise<void> {
    this.#channels.add(channel);
    await this.#connection?.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#channels.delete(channel);
    await this.#connection?.unsubscribe(channel);
  }

  async quit(): Promise<void> {
    this.#stop();
    await this.#connection?.quit();
  }

  disconnect(): void {
    this.#stop();
    this.#connection?.disconnect();
  }

  #stop(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  async #open(): Promise<void> {
    const nodes = this.#cluster.nodes('all');
    if (nodes.length === 0) throw new Error('the Redis Cluster has no known node to subscribe on');
    const { host, port, username, password, tls, connectionName } = nodes[this.#next++ % nodes.length]!.options;
    // No reconnecting to the same node: the node may be gone for good, so the next attempt takes another.
    const connection = new Redis({ host, port, username, password, tls, connectionName, lazyConnect: true, retryStrategy: () => null });
    connection.on('error', (error: Error) => this.emit('error', error));
    connection.on('message', (channel: string, message: string) => this.emit('message', channel, message));
    connection.once('end', () => this.#lost(connection));
    try {
      await connection.connect();
      if (this.#channels.size > 0) await connection.subscribe(...this.#channels);
    } catch (error) {
      connection.disconnect();
      throw error;
    }
    this.#connection = connection;
  }

  #lost(connection: Redis): void {
    if (connection !== this.#connection || this.#closed) return;
    this.#connection = undefined;
    this.emit('close');
    this.#reopen(1);
  }

  #reopen(attempt: number): void {
    this.#retry = setTimeout(
      () => {
        if (this.#closed) return;
        this.#open().then(
          () => (this.#closed ? this.#connection?.disconnect() : this.emit('ready')),
          (error: unknown) => {
            this.emit('error', error);
            this.#reopen(attempt + 1);
          },
        );
      },
      attempt === 1 ? 0 : Math.min(100 * attempt, 1_000),
    );
    this.#retry.unref();
  }
}
