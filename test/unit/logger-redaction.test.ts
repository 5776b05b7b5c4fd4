// No tokens in logs: what the redaction covers.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/logger';

test('authorization headers, connectionParams, tokens, secrets and variables are redacted', () => {
  let written = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      written += String(chunk);
      done();
    },
  });
  const logger = createLogger('info', sink);
  const token = 'atk_SECRETSECRETSECRET';
  logger.info(
    {
      req: { headers: { authorization: `Bearer ${token}` } },
      connectionParams: { authorization: token },
      token,
      apiKey: token,
      context: { secret: token, variables: { t: token } },
    },
    'x',
  );
  logger.info({ ws: { connectionParams: { authorization: token } }, headers: { authorization: token } }, 'y');
  expect(written).not.toContain('SECRET');
  expect(written).toContain('[redacted]');
});
