// JSON logs (pino). Authorization headers and tokens are redacted wherever they appear.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'atelier' },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', 'secret', 'apiKey', '*.token', '*.secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
