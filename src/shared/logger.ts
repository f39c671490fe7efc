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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact, base: { service: 'tollgate' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
