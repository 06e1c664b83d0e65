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
        // Wherever a request's headers, an upstream's or a callback's end up in a line (an error's
        // context included), and fields named for what they hold.
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers["x-internal-service-secret"]',
          'headers.authorization',
          'headers["x-api-key"]',
          'headers["x-internal-service-secret"]',
          '*.headers.authorization',
          '*.headers["x-api-key"]',
          '*.headers["x-internal-service-secret"]',
          'secret',
          '*.secret',
          'api_key',
          '*.api_key',
          'callback_secret',
          '*.callback_secret',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
