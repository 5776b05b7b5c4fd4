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

  test('a refused key is looked up once per request, however many stages the request passes', async () => {
    const { adminKey } = await createTenant(server.url);
    const forged = adminKey.slice(0, -1) + (adminKey.endsWith('A') ? 'B' : 'A');
    const statementsOf = async (send: () => Promise<Response>) => {
      const before = server.db.statementCount;
      expect((await send()).status).toBe(401);
      return server.db.statementCount - before;
    };
    const headers = { authorization: `Bearer ${forged}`, 'apollo-require-preflight': 'true' };
    // GET goes straight to Apollo; POST passes the answer cache first, which authenticates too.
    const get = await statementsOf(() => fetch(`${server.url}/graphql?query=${encodeURIComponent('{ tenant { id } }')}`, { headers }));
    const post = await statementsOf(() =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ tenant { id } }' }),
      }),
    );
    expect(get).toBeGreaterThan(0);
    expect(post).toBe(get);
  });
});
