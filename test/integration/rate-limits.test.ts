// Rate limits: token buckets per API key, per shopper session and per remote address,
// refusing with RATE_LIMITED and retryAfterMs over HTTP and graphql-ws; in Redis, shared by
// every API process (when TEST_REDIS_URL is set). A token has a bucket of its own once it has
// authenticated; before that (its first request, or a made-up token) it shares one per address.
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server';
import { createShopperSession, createTenant } from '../support/graphql-client';
import { openConnection, post, wsOnce } from '../support/limits';

const TENANT = '{ tenant { id } }';

describe('rate limits (in memory)', () => {
  let server: TestServer;
  let keyA: string;
  let keyB: string;
  let shopper: string;
  beforeAll(async () => {
    // Small buckets that refill slowly; the tests' set-up requests are counted in.
    server = await startTestServer('pglite', {
      ATELIER_RATE_API_KEY_PER_S: '0.5',
      ATELIER_RATE_API_KEY_BURST: '8',
      ATELIER_RATE_SHOPPER_PER_S: '0.5',
      ATELIER_RATE_SHOPPER_BURST: '3',
      ATELIER_RATE_ANONYMOUS_PER_S: '0.5',
      ATELIER_RATE_ANONYMOUS_BURST: '4',
    });
  });
  afterAll(() => server.stop());

  test('an API key gets its burst, then RATE_LIMITED with retryAfterMs; another key is unaffected', async () => {
    // The operator token counts as anonymous: two createTenant calls use 2 of its 4.
    keyA = (await createTenant(server.url, 'A')).adminKey;
    keyB = (await createTenant(server.url, 'B')).adminKey;
    // The first request authenticates keyA (drawn from the address's bucket for new API keys);
    // the next 8 are keyA's own burst.
    for (let i = 0; i < 9; i += 1) expect((await post(server.url, keyA, { query: TENANT })).status).toBe(200);
    const before = server.db.statementCount;
    const refused = await post(server.url, keyA, { query: TENANT });
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(refused.body.errors[0].extensions.retryAfterMs).toBeGreaterThan(0);
    expect(refused.body.errors[0].extensions.retryAfterMs).toBeLessThanOrEqual(2000);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Refused before authentication: no SQL.
    expect(server.db.statementCount).toBe(before);
    expect((await post(server.url, keyB, { query: TENANT })).status).toBe(200);
  });

  test('a shopper session has its own, smaller bucket', async () => {
    // keyB's bucket pays for the set-up (2 requests).
    shopper = (await createShopperSession(server.url, keyB, `s-${randomBytes(4).toString('hex')}`)).token;
    // The first request authenticates the session; then its own burst of 3.
    for (let i = 0; i < 4; i += 1) expect((await post(server.url, shopper, { query: TENANT })).status).toBe(200);
    const refused = await post(server.url, shopper, { query: TENANT });
    expect(refused.body.errors[0].extensions.code).toBe('RATE_LIMITED');
  });

  test('graphql-ws: each subscribe takes from the same bucket', async () => {
    // keyB has 8 - 2 = 6 left, plus what refilled; the connection takes one, each operation one.
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${keyB}` },
      retryAttempts: 0,
    });
    const run = () =>
      new Promise<{ code?: string; retryAfterMs?: number }>((resolve) => {
        client.subscribe(
          { query: TENANT },
          {
            next: () => resolve({}),
            error: (e) =>
              resolve(
                Array.isArray(e)
                  ? { code: e[0]?.extensions?.code as string, retryAfterMs: e[0]?.extensions?.retryAfterMs as number }
                  : { code: 'closed' },
              ),
            complete: () => resolve({}),
          },
        );
      });
    const results = [];
    for (let i = 0; i < 10; i += 1) results.push(await run());
    await client.dispose();
    const refused = results.filter((r) => r.code === 'RATE_LIMITED');
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused[0]!.retryAfterMs).toBeGreaterThan(0);
    expect(results.slice(0, 3).every((r) => r.code === undefined)).toBe(true);
  });

  test('graphql-ws: a connection attempt over the limit is closed with 4429', async () => {
    const answer = await wsOnce(server.url, keyA, TENANT);
    expect(answer.closeCode).toBe(4429);
    expect(answer.closeReason).toMatch(/RATE_LIMITED/);
  });

  test('made-up API keys share one bucket per address: inventing keys buys no more attempts', async () => {
    // Well-formed keys of a real tenant with random secrets: each one is unknown, so each
    // attempt would cost a database lookup. keyA and keyB's first requests took 2 of the
    // address's 8 for new API keys; a few more refilled since.
    const prefix = keyA.slice(0, 'atk_'.length + 8 + 22);
    const madeUp = () => `${prefix}${randomBytes(32).toString('base64url').slice(0, 43)}`;
    const codes: string[] = [];
    for (let i = 0; i < 16; i += 1) {
      const before = server.db.statementCount;
      const answer = await post(server.url, madeUp(), { query: TENANT });
      const code = answer.body.errors?.[0]?.extensions?.code as string;
      codes.push(code);
      // A refusal comes before authentication: no SQL.
      if (code === 'RATE_LIMITED') expect(server.db.statementCount).toBe(before);
    }
    expect(codes.slice(0, 6).every((code) => code === 'UNAUTHENTICATED')).toBe(true);
    expect(codes.slice(-4)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    // Over graphql-ws too: a made-up key's connection is refused by the same bucket.
    const answer = await wsOnce(server.url, madeUp(), TENANT);
    expect(answer.closeCode).toBe(4429);
  });

  test('anonymous callers share a bucket per address', async () => {
    // 2 of the 4 went to createTenant (operator token), but on a slow machine the suite may
    // have run long enough for the bucket (0.5/s) to fill again: at most its burst of 4 pass.
    const codes = [];
    for (let i = 0; i < 6; i += 1) codes.push((await post(server.url, null, { query: '{ __typename }' })).status);
    expect(codes.slice(0, 2)).toEqual([200, 200]);
    expect(codes.filter((c) => c === 200).length).toBeLessThanOrEqual(4 + 1);
    expect(codes.slice(-1)).toEqual([429]);
  });
});

const redisUrl = process.env.TEST_REDIS_URL;
(redisUrl ? describe : describe.skip)('rate limits in Redis', () => {
  test('two API servers share one bucket per caller', async () => {
    const prefix = `atelier-test:${randomBytes(6).toString('hex')}:`;
    const env = {
      REDIS_URL: redisUrl!,
      ATELIER_RATE_KEY_PREFIX: prefix,
      ATELIER_RATE_ANONYMOUS_PER_S: '0.2',
      ATELIER_RATE_ANONYMOUS_BURST: '4',
    };
    const [a, b] = await Promise.all([startTestServer('pglite', env), startTestServer('pglite', env)]);
    try {
      const statuses = [];
      for (const server of [a, b, a, b, a, b]) statuses.push((await post(server.url, null, { query: '{ __typename }' })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      const refused = await post(b.url, null, { query: '{ __typename }' });
      expect(refused.body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(refused.body.errors[0].extensions.retryAfterMs).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('two API servers share one WebSocket connection limit per caller; a closed connection frees its place', async () => {
    const prefix = `atelier-test:${randomBytes(6).toString('hex')}:`;
    const env = { REDIS_URL: redisUrl!, ATELIER_RATE_KEY_PREFIX: prefix, ATELIER_WS_MAX_CONNECTIONS_PER_TOKEN: '3' };
    const [a, b] = await Promise.all([startTestServer('pglite', env), startTestServer('pglite', env)]);
    const opened: Awaited<ReturnType<typeof openConnection>>[] = [];
    // Without a token (each test server has a database of its own, so no token is valid on both):
    // counted per remote address, the same caller on both servers.
    const open = async (server: TestServer) => {
      const connection = await openConnection(server.url, null);
      opened.push(connection);
      return connection.result;
    };
    try {
      expect([await open(a), await open(b), await open(a)]).toEqual(['connection_ack', 'connection_ack', 'connection_ack']);
      expect(await open(b)).toBe('closed 4429');
      expect(await open(a)).toBe('closed 4429');
      // One closed on a: its place is free on b.
      opened[0]!.socket.close();
      await new Promise((r) => setTimeout(r, 200));
      expect(await open(b)).toBe('connection_ack');
      expect(await open(b)).toBe('closed 4429');
    } finally {
      for (const connection of opened) connection.socket.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
