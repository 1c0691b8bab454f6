import { pino, type Logger } from 'pino';

/** Paths that may carry secrets anywhere in a log line; pino replaces them before writing. */
const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'signingSecret',
  '*.signingSecret',
  'variables.input.authorization',
  'variables.input.authorization.header',
  'variables.input.authorization.basic.password',
];

/**
 * Standard output, written synchronously. pino's default asynchronous destination retries a write that failed with
 * EPIPE forever when it flushes at exit, so a process whose stdout reader has gone away never finished shutting down;
 * a synchronous write fails once, pino then stops logging to it, and the process exits.
 */
function stdoutDestination(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

/** One structured JSON logger for the process, secrets redacted; stdout unless a destination is given (tests). */
export function createLogger(level: string, destination: pino.DestinationStream = stdoutDestination()): Logger {
  return pino(
    {
      level,
      base: { service: 'audithook' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
