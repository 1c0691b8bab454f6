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

/** One structured JSON logger for the process, secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
