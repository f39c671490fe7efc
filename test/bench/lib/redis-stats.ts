import { Cluster, Redis } from 'ioredis';
import { openRedis, parseRedisUrl } from '../../../src/storage/redis-connection.ts';

// What Redis did, read from each server's INFO: its CPU (INFO cpu, the process's user + system time),
// the time its commands took (INFO commandstats), and the bytes clients sent it (INFO stats). On a
// cluster, masters and replicas apart: a replica's work is the replication stream.

export interface RedisCounters {
  /** Seconds of CPU, masters and replicas. */
  masterCpuS: number;
  replicaCpuS: number;
  /** Microseconds inside commands (commandstats usec), masters only. */
  commandUs: number;
  calls: number;
  /** Bytes received from clients by the masters (a replica's input is the replication stream). */
  inputBytes: number;
}

export interface RedisWatcher {
  counters(): Promise<RedisCounters>;
  /** Deletes every key under prefix, on every master. */
  clear(prefix: string): Promise<void>;
  close(): Promise<void>;
}

export async function watchRedis(url: string): Promise<RedisWatcher> {
  const client = openRedis(parseRedisUrl(url));
  await client.connect();
  const masters = (): Redis[] => (client instanceof Cluster ? client.nodes('master') : [client]);
  const replicas = (): Redis[] => (client instanceof Cluster ? client.nodes('slave') : []);
  return {
    counters: async () => {
      const out: RedisCounters = { masterCpuS: 0, replicaCpuS: 0, commandUs: 0, calls: 0, inputBytes: 0 };
      for (const node of masters()) {
        const info = parseInfo(await node.info('everything'));
        out.masterCpuS += cpuSeconds(info);
        out.inputBytes += Number(info.get('total_net_input_bytes') ?? 0);
        for (const [key, value] of info) {
          if (!key.startsWith('cmdstat_')) continue;
          out.calls += Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
          out.commandUs += Number(/usec=(\d+)/.exec(value)?.[1] ?? 0);
        }
      }
      for (const node of replicas()) out.replicaCpuS += cpuSeconds(parseInfo(await node.info('cpu')));
      return out;
    },
    clear: async (prefix) => {
      for (const node of masters()) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          // One key a call: a cluster node refuses a call whose keys span slots.
          for (const key of keys) await node.unlink(key);
        } while (cursor !== '0');
      }
    },
    close: async () => {
      client.disconnect();
    },
  };
}

export function difference(after: RedisCounters, before: RedisCounters): RedisCounters {
  return {
    masterCpuS: after.masterCpuS - before.masterCpuS,
    replicaCpuS: after.replicaCpuS - before.replicaCpuS,
    commandUs: after.commandUs - before.commandUs,
    calls: after.calls - before.calls,
    inputBytes: after.inputBytes - before.inputBytes,
  };
}

function parseInfo(text: string): Map<string, string> {
  const info = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) info.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return info;
}

function cpuSeconds(info: Map<string, string>): number {
  return Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0);
}
