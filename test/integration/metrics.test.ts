// Metrics are the operator's: the main port serves /metrics to the operator token only, the
// listener of ATELIER_METRICS_PORT (loopback by default) without one. Their operation labels
// are bounded (the web app's names, then the first MAX_OPERATION_LABELS names of authenticated
// callers, then `other`), and errors are counted by the code the client got.
import { startTestServer, type TestServer } from '../support/server';
import { createApiKey, createTenant, gql, OPERATOR } from '../support/graphql-client';
import { MAX_OPERATION_LABELS, WEB_APP_OPERATIONS } from '../../src/observability/operation-labels';

describe('metrics', () => {
  let server: TestServer;
  let adminKey: string;
  beforeAll(async () => {
    server = await startTestServer('pglite', { ATELIER_METRICS_PORT: '0' });
    adminKey = (await createTenant(server.url, 'Metrics')).adminKey;
  });
  afterAll(() => server.stop());

  const scrape = async () => (await fetch(`${server.metricsUrl}/metrics`)).text();
  /** The value of one series, 0 when absent. */
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  const operationLabels = (text: string) =>
    new Set([...text.matchAll(/^atelier_graphql_operations_total\{operation="([^"]*)"/gm)].map((m) => m[1]!));

  test('the listener is on loopback and serves GET /metrics alone; the main port serves it to the operator token only', async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const scraped = await fetch(`${server.metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('atelier_graphql_operations_total');
    expect((await fetch(`${server.metricsUrl}/graphql`)).status).toBe(404);
    expect((await fetch(`${server.metricsUrl}/metrics`, { method: 'POST' })).status).toBe(405);

    const anonymous = await fetch(`${server.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anonymous.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('operator token') } });
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${OPERATOR}x` } })).status).toBe(401);
    const operator = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(operator.status).toBe(200);
    expect(await operator.text()).toContain('atelier_graphql_operations_total');
  });

  test('errors are counted by the code the client got: FORBIDDEN, UNAUTHENTICATED, never as INTERNAL_SERVER_ERROR', async () => {
    const reader = await createApiKey(server.url, adminKey, ['CATALOG_READ']);
    const forbidden = await gql(
      server.url,
      reader,
      'mutation Mint { createApiKey(input: { name: "k", scopes: [ADMIN] }) { apiKey { id } } }',
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unauthenticated = await gql(server.url, null, 'query Who { tenant { id } }');
    expect(unauthenticated.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const badToken = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer atk_nonsense' },
      body: JSON.stringify({ query: 'query Who { tenant { id } }' }),
    });
    expect(badToken.status).toBe(401);

    const text = await scrape();
    expect(value(text, 'atelier_graphql_errors_total{operation="Mint",type="mutation",code="FORBIDDEN"}')).toBe(1);
    // An anonymous caller's operation name is not kept: `other`.
    expect(value(text, 'atelier_graphql_errors_total{operation="other",type="query",code="UNAUTHENTICATED"}')).toBe(1);
    // A token that does not authenticate fails before any operation.
    expect(value(text, 'atelier_graphql_errors_total{operation="other",type="unknown",code="UNAUTHENTICATED"}')).toBe(1);
    expect(text).not.toContain('code="INTERNAL_SERVER_ERROR"');
  });

  test("operation labels are bounded: anonymous 30 kB names add nothing, names past the limit are `other`, the web app's keep theirs", async () => {
    const before = await scrape();
    const otherBefore = value(before, 'atelier_graphql_operations_total{operation="other",type="query"}');
    for (let i = 0; i < 5; i++) {
      const answer = await gql(server.url, null, `query ${String.fromCharCode(65 + i)}${'x'.repeat(30_000)} { __typename }`);
      expect(answer.data).toEqual({ __typename: 'Query' });
    }
    const afterAnonymous = await scrape();
    expect(afterAnonymous).not.toContain('x'.repeat(100));
    // One more `other` series at most (its histogram buckets), not 5 x 30 kB.
    expect(afterAnonymous.length - before.length).toBeLessThan(4_000);
    expect(value(afterAnonymous, 'atelier_graphql_operations_total{operation="other",type="query"}')).toBe(otherBefore + 5);

    // An authenticated caller's names are kept up to the limit ("Mint" of the test above is one).
    const seen = [...operationLabels(afterAnonymous)].filter((l) => !['anonymous', 'other'].includes(l) && !WEB_APP_OPERATIONS.includes(l));
    expect(seen).toContain('Mint');
    const room = MAX_OPERATION_LABELS - seen.length;
    for (let i = 0; i < room + 50; i++) {
      expect((await gql(server.url, adminKey, `query Op${i} { __typename }`)).data).toEqual({ __typename: 'Query' });
    }
    await gql(server.url, adminKey, `query ${'L'.repeat(65)} { __typename }`);
    await gql(server.url, adminKey, 'query Catalog { __typename }');
    const after = await scrape();
    const labels = operationLabels(after);
    expect([...labels].filter((l) => /^Op\d+$/.test(l))).toHaveLength(room);
    expect(labels.has(`Op${room}`)).toBe(false);
    expect(labels.has('Catalog')).toBe(true);
    expect(value(after, 'atelier_graphql_operations_total{operation="other",type="query"}')).toBe(otherBefore + 5 + 50 + 1);
  });
});
