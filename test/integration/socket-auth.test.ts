// A graphql-ws connection is only as good as its credential at this moment: every operation on
// an open socket is authorised again; a revoked API key or an expired shopper session closes
// the socket with 4403 (its subscriptions end), in every API process with Redis; every socket
// is closed with 4410 once it has lived ATELIER_WS_MAX_LIFETIME_S. Real servers, real sockets.
import WebSocket from 'ws';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServer, GENEROUS_LIMITS, localConfig, startTestServer, type ComposedServer, type TestServer } from '../support/server';
import { createShopperSession, createTenant, gql, ok } from '../support/graphql-client';
import { deriveSecret } from '../../src/main/platform';
import { createLogger } from '../../src/observability/logger';
import { SessionTokens } from '../../src/auth/tokens';
import { TenantRepository } from '../../src/tenants/tenant-repository';
import { fromGlobalId } from '../../src/common/ids';
import { WS_CLOSE } from '../../src/graphql/ws-transport';
import type { AnswerData, WireError } from '../support/answers';

jest.setTimeout(60_000);

const SECRET = randomBytes(32).toString('base64url');
const API_KEYS = `{ apiKeys { totalCount } }`;
const CREATE_KEY = `mutation { createApiKey(input: { name: "minted", scopes: [ADMIN] }) { secret userErrors { code } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }`;
const CATALOG_EVENTS = `subscription { referenceCacheChanged { id } }`;

interface Closed {
  code: number;
  reason: string;
  at: number;
}

interface Answer {
  type: 'next' | 'error' | 'complete';
  /** A next message's answer (an error message's list of errors is compared whole; complete has none). */
  payload: { data: AnswerData; errors?: WireError[] };
}

/** One graphql-transport-ws socket, spoken by hand so that "the same socket" is certain. */
interface RawSocket {
  closed: Promise<Closed>;
  isOpen(): boolean;
  /** Sends an operation; resolves with its first answer (next or error), or null if the socket closes first. */
  request(query: string, variables?: Record<string, unknown>): Promise<Answer | null>;
  /** Starts a subscription; `ended` resolves when it ends (complete, error or the socket closing). */
  subscribe(query: string): { ended: Promise<{ by: 'complete' | 'error' | 'close'; closed?: Closed }> };
  close(): Promise<void>;
}

const sockets: RawSocket[] = [];

async function connect(baseUrl: string, token: string): Promise<RawSocket> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const listeners = new Map<string, (answer: Answer) => void>();
  let nextId = 0;
  const closed = new Promise<Closed>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
  );
  const acked = new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: unknown };
      if (message.type === 'connection_ack') resolve();
      else if (message.id !== undefined)
        listeners.get(message.id)?.({ type: message.type as Answer['type'], payload: message.payload as Answer['payload'] });
    });
    void closed.then((c) => reject(new Error(`closed before connection_ack: ${c.code} ${c.reason}`)));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await acked;
  const raw: RawSocket = {
    closed,
    isOpen: () => socket.readyState === WebSocket.OPEN,
    request(query, variables = {}) {
      const id = String(++nextId);
      return new Promise((resolve) => {
        listeners.set(id, (answer) => {
          if (answer.type === 'complete') return;
          listeners.delete(id);
          resolve(answer);
        });
        void closed.then(() => resolve(null));
        socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      });
    },
    subscribe(query) {
      const id = String(++nextId);
      const ended = new Promise<{ by: 'complete' | 'error' | 'close'; closed?: Closed }>((resolve) => {
        listeners.set(id, (answer) => {
          if (answer.type !== 'next') resolve({ by: answer.type === 'complete' ? 'complete' : 'error' });
        });
        void closed.then((c) => resolve({ by: 'close', closed: c }));
      });
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables: {} } }));
      return { ended };
    },
    async close() {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000);
      await closed;
    },
  };
  sockets.push(raw);
  return raw;
}

/** What a fresh socket with `token` gets at connection_init: the close code, or 'accepted'. */
async function connectOutcome(baseUrl: string, token: string): Promise<number | 'accepted'> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  const acked = new Promise<'accepted'>((resolve) =>
    socket.on('message', (data) => JSON.parse(String(data)).type === 'connection_ack' && resolve('accepted')),
  );
  const outcome = await Promise.race([acked, closed]);
  if (socket.readyState !== WebSocket.CLOSED) socket.close(1000);
  await closed;
  return outcome;
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });

async function adminKeyOf(url: string, adminKey: string): Promise<{ secret: string; id: string }> {
  const created = await ok(url, adminKey, `mutation { createApiKey(input: { name: "socket", scopes: [ADMIN] }) { secret apiKey { id } } }`);
  return { secret: created.createApiKey.secret, id: created.createApiKey.apiKey.id };
}

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});

describe('graphql-ws: the credential of an open socket', () => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startTestServer('pglite', { ATELIER_SECRETS: SECRET });
    url = server.url;
  });

  afterAll(async () => {
    await server?.stop();
  });

  test("revokeApiKey closes the key's open sockets at once with 4403, ending their subscriptions; the key cannot come back on", async () => {
    const { adminKey } = await createTenant(url);
    const key = await adminKeyOf(url, adminKey);
    const socket = await connect(url, key.secret);
    const other = await connect(url, adminKey);
    expect((await socket.request(API_KEYS))?.payload.data.apiKeys.totalCount).toBe(2);
    const catalog = socket.subscribe(CATALOG_EVENTS);

    const revokedAt = Date.now();
    await ok(url, adminKey, REVOKE, { id: key.id });
    const closed = await within(socket.closed, 2_000, "the revoked key's socket closed");
    expect(closed.code).toBe(WS_CLOSE.credentialRefused);
    expect(closed.reason).toMatch(/revoked/);
    expect(closed.at - revokedAt).toBeLessThan(2_000);
    expect((await catalog.ended).by).toBe('close');
    // The tenant's other key keeps its socket.
    expect(other.isOpen()).toBe(true);
    expect((await other.request(API_KEYS))?.payload.data.apiKeys.totalCount).toBe(2);

    // Nothing more gets through with the old key: not a new socket, not a key minted over one.
    expect(await connectOutcome(url, key.secret)).toBe(WS_CLOSE.credentialRefused);
    expect((await gql(url, key.secret, CREATE_KEY)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await ok(url, adminKey, API_KEYS)).apiKeys.totalCount).toBe(2);
  });

  test("a revocation this process did not hear of (revoked behind its back): once the key cache lapses, the socket's next operation is refused UNAUTHENTICATED and the socket closed 4403", async () => {
    const { id: tenantGlobalId, adminKey } = await createTenant(url);
    const key = await adminKeyOf(url, adminKey);
    const socket = await connect(url, key.secret);
    expect((await socket.request(API_KEYS))?.payload.data.apiKeys.totalCount).toBe(2);
    // The row changes without the service's announcement (as when a pub/sub message is lost).
    await new TenantRepository(server.db).revokeApiKey(
      fromGlobalId(tenantGlobalId, 'Tenant')!,
      fromGlobalId(key.id, 'ApiKey')!,
      new Date(),
    );

    // The key cache may answer for up to 5 s; after that the database is asked again.
    const deadline = Date.now() + 8_000;
    let answer: Answer | null = null;
    while (Date.now() < deadline) {
      answer = await socket.request(API_KEYS);
      if (answer?.type !== 'next' || answer.payload.errors) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(answer?.type).toBe('error');
    expect(answer?.payload).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    const closed = await within(socket.closed, 2_000, 'the socket closed after the refusal');
    expect(closed.code).toBe(WS_CLOSE.credentialRefused);
  });

  test('a shopper session that expires closes its socket at expiry with 4403, ending its subscriptions; its reads are refused', async () => {
    const { adminKey } = await createTenant(url);
    const { shopperId } = await createShopperSession(url, adminKey, `shopper-${randomBytes(4).toString('hex')}`);
    // A real session of this server, signed to expire in 2 to 3 seconds.
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + 3) * 1000);
    const tenantId = fromGlobalId((await ok(url, adminKey, `{ tenant { id } }`)).tenant.id, 'Tenant')!;
    const session = new SessionTokens([deriveSecret(SECRET, 'sessions')]).sign({
      tenantId,
      shopperId: fromGlobalId(shopperId, 'Shopper')!,
      expiresAt,
    });
    const socket = await connect(url, session);
    expect((await socket.request(`{ personPhotos { totalCount } }`))?.payload.data.personPhotos.totalCount).toBe(0);
    const catalog = socket.subscribe(CATALOG_EVENTS);

    const closed = await within(socket.closed, expiresAt.getTime() - Date.now() + 2_000, "the expired session's socket closed");
    expect(closed.code).toBe(WS_CLOSE.credentialRefused);
    expect(closed.reason).toMatch(/expired/);
    expect(closed.at).toBeGreaterThanOrEqual(expiresAt.getTime() - 50);
    expect(closed.at - expiresAt.getTime()).toBeLessThan(1_500);
    expect((await catalog.ended).by).toBe('close');
    expect(await connectOutcome(url, session)).toBe(WS_CLOSE.credentialRefused);
    expect((await gql(url, session, `{ personPhotos { totalCount } }`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe("graphql-ws: a connection's maximum lifetime (ATELIER_WS_MAX_LIFETIME_S)", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('pglite', { ATELIER_WS_MAX_LIFETIME_S: '2' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  test('a socket is closed with 4410 once it has lived that long, its subscriptions ending; a new one is accepted', async () => {
    const { adminKey } = await createTenant(server.url);
    const openedAt = Date.now();
    const socket = await connect(server.url, adminKey);
    const catalog = socket.subscribe(CATALOG_EVENTS);
    expect((await socket.request(API_KEYS))?.type).toBe('next');
    const closed = await within(socket.closed, 4_000, 'the socket closed at its lifetime');
    expect(closed.code).toBe(WS_CLOSE.lifetimeReached);
    expect(closed.at - openedAt).toBeGreaterThanOrEqual(1_900);
    expect((await catalog.ended).by).toBe('close');
    expect(await connectOutcome(server.url, adminKey)).toBe('accepted');
  });
});

const scaledOut = process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL ? describe : describe.skip;

scaledOut('graphql-ws: a revocation reaches every API process (PostgreSQL and Redis)', () => {
  let first: TestServer;
  let second: ComposedServer;
  let secondDataDir: string;

  beforeAll(async () => {
    const redis = { REDIS_URL: process.env.TEST_REDIS_URL! };
    const bullmq = { prefix: `atelier-test-${randomBytes(4).toString('hex')}` };
    first = await startTestServer('postgres', { ...redis, ATELIER_SECRETS: SECRET }, { bullmq });
    // A second API on the same database and Redis, sharing nothing else with the first.
    secondDataDir = mkdtempSync(join(tmpdir(), 'atelier-test-'));
    second = await composeServer(
      localConfig(secondDataDir, {
        ...GENEROUS_LIMITS,
        ...redis,
        DATABASE_URL: first.databaseUrl!,
        ATELIER_SECRETS: SECRET,
        ATELIER_RATE_KEY_PREFIX: `atelier-test:${randomBytes(6).toString('hex')}:`,
      }),
      { role: 'api', bullmq, logger: createLogger('silent') },
    );
  });

  afterAll(async () => {
    await second?.close();
    await first?.stop();
    if (secondDataDir) rmSync(secondDataDir, { recursive: true, force: true });
  });

  test("revoked through one API, the key's socket on the other is closed with 4403 within seconds", async () => {
    const { adminKey } = await createTenant(first.url);
    const key = await adminKeyOf(first.url, adminKey);
    const socket = await connect(second.url, key.secret);
    expect((await socket.request(API_KEYS))?.payload.data.apiKeys.totalCount).toBe(2);
    const catalog = socket.subscribe(CATALOG_EVENTS);

    const revokedAt = Date.now();
    await ok(first.url, adminKey, REVOKE, { id: key.id });
    const closed = await within(socket.closed, 3_000, "the other API closed the revoked key's socket");
    expect(closed.code).toBe(WS_CLOSE.credentialRefused);
    expect(closed.at - revokedAt).toBeLessThan(3_000);
    expect((await catalog.ended).by).toBe('close');
    expect(await connectOutcome(second.url, key.secret)).toBe(WS_CLOSE.credentialRefused);
  });
});
