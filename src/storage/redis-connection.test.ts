import { describe, expect, it } from 'vitest';
import { describeRedisUrl, parseRedisUrl } from './redis-connection.ts';

describe('REDIS_URL', () => {
  it('names one server, or a cluster by its nodes', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7001,redis-b.internal:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7001 },
        { host: 'redis-b.internal', port: 7002 },
      ],
      tls: false,
    });
    expect(parseRedisUrl('rediss+cluster://gateway:s%40cret@h1:6380')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'h1', port: 6380 }],
      username: 'gateway',
      password: 's@cret',
      tls: true,
    });
    expect(parseRedisUrl('redis+cluster://:only-password@h1:7001,h2:7002/')).toMatchObject({ password: 'only-password', nodes: [{ port: 7001 }, { port: 7002 }] });
  });

  it('says what is wrong with a bad one', () => {
    expect(() => parseRedisUrl('http://h1:6379')).toThrow('expected redis://, rediss:// or redis+cluster://');
    expect(() => parseRedisUrl('redis+cluster://h1:7001,h2')).toThrow('cluster node "h2" is not host:port');
    expect(() => parseRedisUrl('redis+cluster://h1:70001')).toThrow('cluster node "h1:70001" is not host:port');
    expect(() => parseRedisUrl('redis+cluster://h1:7001/0')).toThrow('with no path');
    expect(() => parseRedisUrl('redis+cluster://')).toThrow();
  });

  it('is logged without its password', () => {
    expect(describeRedisUrl('redis+cluster://gateway:secret@h1:7001,h2:7002')).toBe('redis+cluster://gateway:***@h1:7001,h2:7002');
    expect(describeRedisUrl('redis://:secret@h1:6379')).toBe('redis://:***@h1:6379');
    expect(describeRedisUrl('redis://h1:6379')).toBe('redis://h1:6379');
  });
});
