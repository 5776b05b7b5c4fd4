// Aggregate rate limits (issue 13 item 7): minting tokens must not multiply the limit. Every API
// key and shopper session of one tenant together draw from the tenant's bucket; every shopper
// session used from one remote address together draw from the address's, over HTTP and
// graphql-ws alike. One token alone still gets its own limit. Requests come from several
// loopback addresses (127.0.0.x) so that each part of a suite has an address of its own.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { startTestServer, type TestServer } from '../support/server';
import { createApiKey, createShopperSession, createTenant } from '../support/graphql-client';

const TENANT = '{ tenant { id } }';
const SHOPPER = '{ __typename }';

/** A GraphQL POST sent from `localAddress`: its status and error code (null when it succeeded). */
function postFrom(localAddress: string, baseUrl: string, token: string, query: string): Promise<{ status: number; code: string | null }> {
  const body = JSON.stringify({ query });
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${baseUrl}/graphql`,
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const parsed = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
          resolve({ status: response.statusCode ?? 0, code: parsed.errors?.[0]?.extensions?.code ?? null });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** A graphql-ws client whose socket connects from `localAddress`; run() answers each operation's outcome. */
function wsClientFrom(localAddress: string, baseUrl: string, token: string) {
  class LocalWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { localAddress });
    }
  }
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: LocalWebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    // One connection for every operation (a lazy client would reconnect after each one).
    lazy: false,
    onNonLazyError: () => undefined,
  });
  const run = (query: string) =>
    new Promise<string>((resolve) => {
      client.subscribe(
        { query },
        {
          next: (value) => resolve(value.errors ? String(value.errors[0]?.extensions?.['code']) : 'ok'),
          error: (e) => resolve(Array.isArray(e) ? String(e[0]?.extensions?.code) : `closed ${(e as { code?: number }).code}`),
          complete: () => resolve('ok'),
        },
      );
    });
  return { run, dispose: () => client.dispose() };
}

const count = (outcomes: string[], what: string) => outcomes.filter((o) => o === what).length;

describe('aggregate rate limit per tenant', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Slow refills (one request per 20 s), so what a suite sees is the bursts.
    server = await startTestServer('pglite', {
      ATELIER_RATE_API_KEY_PER_S: '0.05',
      ATELIER_RATE_API_KEY_BURST: '10',
      ATELIER_RATE_TENANT_PER_S: '0.05',
      ATELIER_RATE_TENANT_BURST: '15',
      // Off here: this suite checks the tenant's bucket alone.
      ATELIER_RATE_SHOPPER_ADDRESS_PER_S: '0',
    });
  });
  afterAll(() => server.stop());

  test('HTTP: four API keys of one tenant together get no more than its bucket; one key alone gets its own burst; another tenant is unaffected', async () => {
    const a = await createTenant(server.url, 'A');
    // The set-up takes from tenant A's bucket too (all but the admin key's first request).
    const keys = [a.adminKey];
    for (let i = 0; i < 3; i += 1) keys.push(await createApiKey(server.url, a.adminKey, ['CATALOG_READ']));
    const allowed = new Map<string, number>(keys.map((key) => [key, 0]));
    const codes: (string | null)[] = [];
    for (let round = 0; round < 12; round += 1) {
      for (const key of keys) {
        const answer = await postFrom('127.0.0.2', server.url, key, TENANT);
        codes.push(answer.code);
        if (answer.status === 200) allowed.set(key, allowed.get(key)! + 1);
      }
    }
    const total = [...allowed.values()].reduce((a, b) => a + b, 0);
    // Without the tenant's bucket: about 4 x 10. With it: its 15, less the set-up's 2, plus the
    // three new keys' first requests (drawn from the address's bucket for keys not yet
    // authenticated, before the tenant is known) and at most a refill or two.
    expect(total).toBeLessThanOrEqual(15 - 2 + 3 + 2);
    expect(total).toBeGreaterThanOrEqual(15 - 2);
    for (const n of allowed.values()) expect(n).toBeLessThan(10);
    expect(new Set(codes.filter((c) => c !== null))).toEqual(new Set(['RATE_LIMITED']));

    // Another tenant's key, alone: its own burst (10, after the first request that
    // authenticates it), smaller than its tenant's.
    const b = await createTenant(server.url, 'B');
    const statuses = [];
    for (let i = 0; i < 12; i += 1) statuses.push((await postFrom('127.0.0.3', server.url, b.adminKey, TENANT)).status);
    expect(statuses.slice(0, 11)).toEqual(Array(11).fill(200));
    expect(statuses[11]).toBe(429);
  });

  test('graphql-ws: connections and operations of three API keys of one tenant together get no more than its bucket', async () => {
    const c = await createTenant(server.url, 'C');
    const keys = [
      c.adminKey,
      await createApiKey(server.url, c.adminKey, ['CATALOG_READ']),
      await createApiKey(server.url, c.adminKey, ['CATALOG_READ']),
    ];
    const clients = keys.map((key) => wsClientFrom('127.0.0.4', server.url, key));
    const outcomes: string[] = [];
    try {
      for (let round = 0; round < 8; round += 1) {
        for (const client of clients) outcomes.push(await client.run(TENANT));
      }
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
    // Without the tenant's bucket all 24 pass (each key has 10). With it: 15, less the
    // set-up's 1 and the admin key's connection, plus at most a refill or two.
    expect(count(outcomes, 'ok')).toBeLessThanOrEqual(15 - 2 + 2);
    expect(count(outcomes, 'ok')).toBeGreaterThanOrEqual(10);
    expect(count(outcomes, 'ok') + count(outcomes, 'RATE_LIMITED')).toBe(outcomes.length);
  });
});

describe('aggregate rate limit per address for shopper sessions', () => {
  let server: TestServer;
  let sessions: string[];
  beforeAll(async () => {
    server = await startTestServer('pglite', {
      ATELIER_RATE_SHOPPER_PER_S: '0.05',
      ATELIER_RATE_SHOPPER_BURST: '6',
      ATELIER_RATE_SHOPPER_ADDRESS_PER_S: '0.05',
      ATELIER_RATE_SHOPPER_ADDRESS_BURST: '10',
      // Off here: this suite checks the address's bucket alone.
      ATELIER_RATE_TENANT_PER_S: '0',
    });
    // Sessions of two tenants, minted by their API keys (from 127.0.0.1; no shopper bucket pays).
    const x = await createTenant(server.url, 'X');
    const y = await createTenant(server.url, 'Y');
    sessions = [];
    for (const [tenant, n] of [
      [x, 3],
      [y, 3],
    ] as const) {
      for (let i = 0; i < n; i += 1)
        sessions.push((await createShopperSession(server.url, tenant.adminKey, `s-${randomBytes(4).toString('hex')}`)).token);
    }
  });
  afterAll(() => server.stop());

  test('HTTP: five sessions of two tenants from one address together get no more than its bucket; elsewhere a session still gets its own burst', async () => {
    const flood = sessions.slice(0, 5);
    const outcomes: string[] = [];
    for (let round = 0; round < 6; round += 1) {
      for (const token of flood) {
        const answer = await postFrom('127.0.0.5', server.url, token, SHOPPER);
        outcomes.push(answer.code ?? 'ok');
      }
    }
    // Without the address's bucket: 5 x (1 + 6) minus what the 30 attempts allow, about 30. With it: 10 plus a refill.
    expect(count(outcomes, 'ok')).toBeLessThanOrEqual(10 + 1);
    expect(count(outcomes, 'ok')).toBeGreaterThanOrEqual(10);
    expect(count(outcomes, 'ok') + count(outcomes, 'RATE_LIMITED')).toBe(outcomes.length);

    // The sixth session, alone from another address: its own burst (6, after the request that authenticates it).
    const alone: string[] = [];
    for (let i = 0; i < 8; i += 1) alone.push((await postFrom('127.0.0.6', server.url, sessions[5]!, SHOPPER)).code ?? 'ok');
    expect(alone).toEqual([...Array(7).fill('ok'), 'RATE_LIMITED']);
  });

  test('graphql-ws: connections and operations of three sessions from one address together get no more than its bucket', async () => {
    // These sessions authenticated in the HTTP test: each connection and operation takes from the session's and the address's bucket.
    const clients = sessions.slice(0, 3).map((token) => wsClientFrom('127.0.0.7', server.url, token));
    const outcomes: string[] = [];
    try {
      for (let round = 0; round < 6; round += 1) {
        for (const client of clients) outcomes.push(await client.run(SHOPPER));
      }
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
    // Without the address's bucket each session would run the 4 its own bucket has left (12 in all).
    // With it: 10, less the 3 connections, plus a refill.
    expect(count(outcomes, 'ok')).toBeLessThanOrEqual(10 - 3 + 1);
    expect(count(outcomes, 'ok')).toBeGreaterThanOrEqual(10 - 3);
  });
});
