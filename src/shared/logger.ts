import pino from 'pino';

export type Logger = pino.Logger;

// Secrets must never reach a log line, whichever object they ride in on.
const redact = {
  paths: [
    'authorization',
    '*.authorization',
    'req.headers.authorization',
    'headers.authorization',
    'secret',
    '*.secret',
    'apiKey',
    '*.apiKey',
    'password',
    '*.password',
  ],
  censor: '[redacted]',
};

const base = { service: 'tollgate' };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact, base, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * The server's logger on stdout. Unless `sync`, lines are written asynchronously, gathered into writes
 * of 4 KiB or whatever a quarter of a second brought, so logging costs no syscall per request under
 * load. flush() writes what is pending; call it before exiting.
 */
export function createServerLogger(level: string, options: { sync: boolean }): { logger: Logger; flush(): void } {
  const destination = options.sync ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
  const logger = createLogger(level, destination);
  return {
    logger,
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // nothing buffered, or stdout already closed
      }
    },
  };
}

/**
 * The same level and destination without the redaction pass, which costs more than building the line.
 * Only for lines assembled field by field from values that are never secret (the request log).
 */
export function unredactedLogger(logger: Logger): Logger {
  return pino({ level: logger.level, base, timestamp: pino.stdTimeFunctions.isoTime }, destinationOf(logger));
}

/** Where a logger writes: lines written there directly land among its own, in order. */
export function destinationOf(logger: Logger): pino.DestinationStream {
  return (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym]!;
}
