// Unexpected errors: clients get INTERNAL_SERVER_ERROR with no details (HTTP and graphql-ws);
// the log gets the error with the request id the client saw, and never the token.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/logger';
import { createTenant } from '../support/graphql-client';
import { post, wsOnce } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';

describe('error masking', () => {
  let server: TestServer;
  let logged = '';
  let key: string;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged += String(chunk);
        done();
      },
    });
    server = await startTestServer('pglite', {}, { logger: createLogger('error', sink) });
    key = (await createTenant(server.url)).adminKey;
    // A bug: the service throws with internal details in its message.
    server.services.tenants.currentTenant = async () => {
      throw new Error('connection to 10.1.2.3:5432 failed for user atelier_app');
    };
  });
  afterAll(() => server.stop());

  test('over HTTP: masked for the client, logged with the request id', async () => {
    const answer = await post(server.url, key, { query: '{ tenant { id } }' }, { 'x-request-id': 'req-mask-1' });
    expect(answer.body.errors[0]).toEqual({
      message: 'Internal server error',
      path: ['tenant'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(JSON.stringify(answer.body)).not.toContain('10.1.2.3');
    const line = logged.split('\n').find((l) => l.includes('req-mask-1'));
    expect(line).toBeDefined();
    expect(line).toContain('10.1.2.3');
    expect(logged).not.toContain(key);
  });

  test('over graphql-ws: the same', async () => {
    const answer = await wsOnce(server.url, key, '{ tenant { id } }');
    expect(answer.errors?.[0]).toEqual({
      message: 'Internal server error',
      path: ['tenant'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(logged.split('\n').filter((l) => l.includes('10.1.2.3'))).toHaveLength(2);
    expect(logged).not.toContain(key);
  });
});
