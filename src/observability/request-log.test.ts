import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../shared/logger.ts';
import { RequestLog } from './request-log.ts';

function capture(level: string) {
  const writes: string[] = [];
  const logger = createLogger(level, new Writable({ write: (chunk: Buffer, _e, done) => (writes.push(chunk.toString()), done()) }));
  return { logger, writes };
}

describe('RequestLog', () => {
  it('writes lines in the format of the logger, a turn of the event loop at a time', async () => {
    const { logger, writes } = capture('info');
    const log = new RequestLog(logger);
    logger.info({ requestId: 'r0', n: 0 }, 'from pino');
    log.write('info', { requestId: 'r1', status: 'ok', quote: 'say "hi"\n', missing: null }, 'completion');
    log.write('warn', { requestId: 'r2' }, 'completion failed');
    expect(writes).toHaveLength(1);
    await nextTurn();
    expect(writes).toHaveLength(2);
    const [pinoLine, ...ours] = writes.join('').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(ours[0]!).slice(0, 3)).toEqual(Object.keys(pinoLine!).slice(0, 3));
    expect(ours[0]).toMatchObject({ level: 30, service: 'tollgate', requestId: 'r1', quote: 'say "hi"\n', missing: null, msg: 'completion' });
    expect(Number.isNaN(Date.parse(ours[0]!.time as string))).toBe(false);
    expect(ours[1]).toMatchObject({ level: 40, requestId: 'r2', msg: 'completion failed' });
  });

  it('follows the logger level', () => {
    const { logger } = capture('warn');
    const log = new RequestLog(logger);
    expect(log.enabled('info')).toBe(false);
    expect(log.enabled('warn')).toBe(true);
  });

  it('writes a line with no fields', async () => {
    const { logger, writes } = capture('info');
    new RequestLog(logger).write('info', {}, 'empty');
    await nextTurn();
    expect(JSON.parse(writes[0]!)).toMatchObject({ level: 30, msg: 'empty' });
  });
});
