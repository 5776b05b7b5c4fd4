// JSON logs (pino). Authorization headers, graphql-ws connectionParams, tokens, secrets and
// operation variables (which may hold tokens or images) are redacted wherever they appear.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'atelier' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          'authorization',
          '*.authorization',
          'connectionParams',
          '*.connectionParams',
          'token',
          '*.token',
          'secret',
          '*.secret',
          'apiKey',
          '*.apiKey',
          'variables',
          '*.variables',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
