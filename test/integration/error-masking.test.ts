// Unexpected errors: clients get INTERNAL_SERVER_ERROR with no details (HTTP and graphql-ws);
// the log gets the error with the request id the client saw, and never the token.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { startServer, type AtelierServer } from '../../src/main/app';
import { loadConfig } from '../../src/main/config';
import { createLogger } from '../../src/observability/logger';
import { createTenant, OPERATOR } from '../support/graphql-client';
import { post, wsOnce } from '../support/limits';
import { GENEROUS_LIMITS } from '../support/server';

describe('error masking', () => {
  let server: AtelierServer;
  let dataDir: string;
  let logged = '';
  let key: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'atelier-test-'));
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      ATELIER_DATA_DIR: dataDir,
      ATELIER_ADMIN_TOKEN: OPERATOR,
      ATELIER_SECRETS: randomBytes(32).toString('base64url'),
      ...GENEROUS_LIMITS,
    });
    const sink = new Writable({ write(chunk, _encoding, done) { logged += String(chunk); done(); } });
    server = await startServer(config, { role: 'api', database: { kind: 'embedded', dataDir: null }, logger: createLogger('error', sink) });
    key = (await createTenant(server.url)).adminKey;
    // A bug: the service throws with internal details in its message.
    server.services.tenants.currentTenant = async () => {
      throw new Error('connection to 10.1.2.3:5432 failed for user atelier_app');
    };
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('over HTTP: masked for the client, logged with the request id', async () => {
    const answer = await post(server.url, key, { query: '{ tenant { id } }' }, { 'x-request-id': 'req-mask-1' });
    expect(answer.body.errors[0]).toEqual({ message: 'Internal server error', path: ['tenant'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(answer.body)).not.toContain('10.1.2.3');
    const line = logged.split('\n').find((l) => l.includes('req-mask-1'));
    expect(line).toBeDefined();
    expect(line).toContain('10.1.2.3');
    expect(logged).not.toContain(key);
  });

  test('over graphql-ws: the same', async () => {
    const answer = await wsOnce(server.url, key, '{ tenant { id } }');
    expect(answer.errors?.[0]).toEqual({ message: 'Internal server error', path: ['tenant'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged.split('\n').filter((l) => l.includes('10.1.2.3'))).toHaveLength(2);
    expect(logged).not.toContain(key);
  });
});
