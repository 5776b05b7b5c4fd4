// Query limits at their boundaries, over HTTP and over graphql-ws alike: just under a limit
// passes, just over is refused with its code, and a refused operation runs no SQL.
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/server';
import { createTenant } from '../support/graphql-client';
import { openConnection, post, wsOnce } from '../support/limits';
import { GRAPHQL_BODY_LIMIT } from '../../src/http/http-app';

const LIMITS = {
  ATELIER_MAX_QUERY_DEPTH: '4',
  ATELIER_MAX_QUERY_COST: '100',
  ATELIER_MAX_ALIASES: '5',
  ATELIER_MAX_ROOT_FIELDS: '7',
  ATELIER_MAX_DIRECTIVES: '3',
  ATELIER_MAX_QUERY_TOKENS: '120',
  ATELIER_MAX_QUERY_BYTES: '1000',
  ATELIER_MAX_BATCH_SIZE: '3',
  ATELIER_WS_MAX_SUBSCRIPTIONS: '2',
  ATELIER_WS_MAX_CONNECTIONS_PER_TOKEN: '3',
  ATELIER_WS_MAX_MESSAGE_BYTES: '4096',
  ATELIER_WS_INIT_TIMEOUT_MS: '300',
};

const rootFields = (n: number, aliased: number) =>
  `{ ${Array.from({ length: n }, (_, i) => (i < aliased ? `a${i}: tenant { id }` : i === aliased ? 'tenant { id }' : '__typename')).join(' ')} }`;
const directives = (n: number) => `{ tenant { ${Array.from({ length: n }, () => 'id @include(if: true)').join(' ')} } }`;
const tokens = (n: number) => `{ tenant { ${Array.from({ length: n - 4 }, () => 'id').join(' ')} } }`; // "{ tenant {" + "} }" = 4 tokens
const sized = (bytes: number) => {
  const head = '{ tenant { id } } #';
  return head + 'x'.repeat(bytes - head.length);
};

/** [limit, query just under (at) the limit, query just over, code]. */
const BOUNDARIES: [string, string, string, Record<string, unknown>, Record<string, unknown>, string][] = [
  ['depth', '{ outfits { edges { node { id } } } }', '{ outfits { edges { node { shopper { id } } } } }', {}, {}, 'QUERY_TOO_DEEP'],
  [
    'cost',
    'query($n: Int) { garments(first: $n) { edges { node { id } } } }',
    'query($n: Int) { garments(first: $n) { edges { node { id } } } }',
    { n: 98 },
    { n: 99 },
    'QUERY_TOO_COSTLY',
  ],
  ['aliases', rootFields(5, 5), rootFields(6, 6), {}, {}, 'TOO_MANY_ALIASES'],
  ['root fields', rootFields(7, 5), rootFields(8, 5), {}, {}, 'TOO_MANY_ROOT_FIELDS'],
  ['directives', directives(3), directives(4), {}, {}, 'TOO_MANY_DIRECTIVES'],
  ['tokens', tokens(120), tokens(121), {}, {}, 'TOO_MANY_TOKENS'],
  ['document size', sized(1000), sized(1001), {}, {}, 'QUERY_TOO_LARGE'],
];

describe('query limits', () => {
  let server: TestServer;
  let key: string;
  beforeAll(async () => {
    server = await startTestServer('pglite', LIMITS);
    key = (await createTenant(server.url)).adminKey;
  });
  afterAll(() => server.stop());

  describe.each(BOUNDARIES)('%s', (_name, under, over, underVars, overVars, code) => {
    test('over HTTP: at the limit passes (with its cost), one more is refused', async () => {
      const ok = await post(server.url, key, { query: under, variables: underVars });
      expect(ok.body.errors).toBeUndefined();
      expect(ok.status).toBe(200);
      expect(ok.body.extensions.cost).toEqual({ requested: expect.any(Number), maximum: 100 });
      const refused = await post(server.url, key, { query: over, variables: overVars });
      expect(refused.status).toBe(400);
      expect(refused.body.errors[0].extensions.code).toBe(code);
      expect(refused.body.data).toBeUndefined();
    });

    test('over graphql-ws: the same', async () => {
      const ok = await wsOnce(server.url, key, under, underVars);
      expect(ok.errors).toBeUndefined();
      expect(ok.data).toBeDefined();
      expect(ok.extensions!.cost.maximum).toBe(100);
      const refused = await wsOnce(server.url, key, over, overVars);
      expect(refused.errors?.[0]?.extensions?.['code']).toBe(code);
    });
  });

  test('the cost of an answer is in extensions.cost', async () => {
    const answer = await post(server.url, key, { query: '{ garments(first: 10) { edges { node { id } } } }' });
    expect(answer.body.extensions.cost).toEqual({ requested: 2 + 10 * 1, maximum: 100 });
  });

  test('a refused operation runs no SQL (not even authentication)', async () => {
    const before = server.db.statementCount;
    const refused = await post(server.url, key, {
      query: 'query($n: Int) { garments(first: $n) { edges { node { id } } } }',
      variables: { n: 1000 },
    });
    expect(refused.body.errors[0].extensions.code).toBe('QUERY_TOO_COSTLY');
    expect(refused.body.errors[0].extensions.cost).toEqual({ requested: 1002, maximum: 100 });
    const deep = await post(server.url, key, { query: '{ outfits { edges { node { shopper { id } } } } }' });
    expect(deep.status).toBe(400);
    expect(server.db.statementCount).toBe(before);
    // An accepted one does (the counter works).
    await post(server.url, key, { query: '{ tenant { id } }' });
    expect(server.db.statementCount).toBeGreaterThan(before);
  });

  test('batches: up to the batch size run, one more is refused', async () => {
    const op = { query: '{ tenant { id } }' };
    const ok = await post(server.url, key, [op, op, op]);
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(3);
    expect(ok.body[2]!.data.tenant.id).toBeTruthy();
    expect(ok.body[0]!.extensions.cost.requested).toBe(1);
    const refused = await post(server.url, key, [op, op, op, op]);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].extensions.code).toBe('BATCH_TOO_LARGE');
    // Every operation of a batch is checked.
    const deep = await post(server.url, key, [op, { query: '{ outfits { edges { node { shopper { id } } } } }' }]);
    expect(deep.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
    expect(deep.body.errors[0].message).toMatch(/^operation 1:/);
  });

  test('a body over the limit is a 413 in GraphQL error shape', async () => {
    const big = JSON.stringify({ query: '{ tenant { id } }', variables: { pad: 'x'.repeat(GRAPHQL_BODY_LIMIT) } });
    const answer = await post(server.url, key, big);
    expect(answer.status).toBe(413);
    expect(answer.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('CSRF prevention: a simple (form-like) request is refused', async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`);
    expect(res.status).toBe(400);
    const ok = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(ok.status).toBe(200);
  });

  describe('WebSocket', () => {
    test('subscriptions per connection: the limit runs, one more is refused', async () => {
      const { createClient } = await import('graphql-ws');
      const client = createClient({
        url: `${server.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key}` },
        retryAttempts: 0,
      });
      // Three operations sent at once on one connection: while the first two are in flight
      // (each reads the database), the third is refused.
      const results = await Promise.all(
        Array.from(
          { length: 3 },
          () =>
            new Promise<string>((resolve) => {
              client.subscribe(
                { query: '{ garments(first: 50) { edges { node { id } } } }' },
                {
                  next: () => resolve('ok'),
                  error: (e) => resolve(Array.isArray(e) ? String(e[0]?.extensions?.code) : 'closed'),
                  complete: () => resolve('ok'),
                },
              );
            }),
        ),
      );
      await client.dispose();
      expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(2);
      expect(results.filter((r) => r !== 'ok').every((r) => r === 'TOO_MANY_SUBSCRIPTIONS')).toBe(true);
    });

    test('connections per token: the limit connects, one more is closed with 4429', async () => {
      const open = () => openConnection(server.url, key);
      const sockets = [await open(), await open(), await open()];
      expect(await Promise.all(sockets.map((s) => s.result))).toEqual(['connection_ack', 'connection_ack', 'connection_ack']);
      const fourth = await open();
      expect(await fourth.result).toBe('closed 4429');
      for (const s of sockets) s.socket.close();
      await new Promise((r) => setTimeout(r, 100));
      const again = await open();
      expect(await again.result).toBe('connection_ack');
      again.socket.close();
    });

    test('a message over the size limit closes the socket (1009); one under is answered', async () => {
      const exchange = (padding: number): Promise<string> =>
        new Promise((resolve) => {
          const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
          socket.on('open', () =>
            socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}`, pad: 'x'.repeat(padding) } })),
          );
          socket.on('message', (m) => {
            resolve(JSON.parse(String(m)).type);
            socket.close();
          });
          socket.on('close', (code) => resolve(`closed ${code}`));
        });
      const frame = (padding: number) =>
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}`, pad: 'x'.repeat(padding) } }).length;
      const fits = 4096 - frame(0);
      expect(frame(fits)).toBe(4096);
      expect(await exchange(fits)).toBe('connection_ack');
      expect(await exchange(fits + 1)).toBe('closed 1009');
    });

    test('a socket that never sends connection_init is closed (4408)', async () => {
      const code = await new Promise<number>((resolve) => {
        const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
        socket.on('close', (c) => resolve(c));
      });
      expect(code).toBe(4408);
    });
  });
});

describe('introspection and CORS settings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { ATELIER_INTROSPECTION: 'false', ATELIER_CORS_ORIGINS: 'https://shop.example.com' });
  });
  afterAll(() => server.stop());

  test('introspection off: refused over HTTP and graphql-ws; __typename still works', async () => {
    const http = await post(server.url, null, { query: '{ __schema { queryType { name } } }' });
    expect(http.status).toBe(400);
    expect(http.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const ws = await wsOnce(server.url, null, '{ __schema { queryType { name } } }');
    expect(ws.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await post(server.url, null, { query: '{ __typename }' })).body.data.__typename).toBe('Query');
  });

  test('CORS: the configured origin is allowed, another gets no CORS headers', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
    const allowed = await preflight('https://shop.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const other = await preflight('https://evil.example.com');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
