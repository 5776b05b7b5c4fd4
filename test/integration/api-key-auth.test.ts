// A key with a real key's tenant and visible prefix but another secret is refused; the real one works.
import { startTestServer, type TestServer } from '../support/server';
import { createTenant, gql } from '../support/graphql-client';

describe('API key comparison', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(() => server.stop());

  test('same prefix and tenant, other secret: UNAUTHENTICATED', async () => {
    const { adminKey } = await createTenant(server.url);
    const last = adminKey.slice(-1);
    const forged = adminKey.slice(0, -1) + (last === 'A' ? 'B' : 'A');
    expect((await gql(server.url, forged, '{ tenant { id } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(server.url, adminKey, '{ tenant { id } }')).data?.tenant.id).toBeTruthy();
  });
});
