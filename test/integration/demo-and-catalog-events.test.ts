// The demo tenant and its demo-only shopper session endpoint (loopback callers only, so many
// new visitors per address), and the referenceCacheChanged subscription (the catalog page's
// live cache status). On PGlite with in-process pub/sub,
// and on PostgreSQL with Redis pub/sub when TEST_DATABASE_URL and TEST_REDIS_URL are set.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createTenant, gql, ok } from '../support/graphql-client';
import { collect, wsClient } from '../support/graphql-ws';
import { projectRoot } from '../../src/common/project-paths';

const samples = join(projectRoot, 'models', 'tryon-tiny', 'samples');
const sampleIndex = JSON.parse(readFileSync(join(samples, 'index.json'), 'utf8')) as { persons: unknown[]; garments: unknown[] };
const backends = databaseKinds().map((kind) => ({
  kind,
  redis: kind === 'postgres' && process.env.TEST_REDIS_URL ? process.env.TEST_REDIS_URL : null,
}));

const CACHE_CHANGED = `subscription { referenceCacheChanged { id sku referenceCache { status bytes } } }`;

function demoSession(url: string, visitor: unknown) {
  return fetch(`${url}/demo/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ visitor }),
  });
}

describe.each(backends)('demo tenant and catalog events on $kind (redis: $redis)', ({ kind, redis }) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(kind, redis ? { REDIS_URL: redis } : {}, {
      role: 'all',
      demo: true,
      bullmq: { prefix: `atelier-test-${randomBytes(4).toString('hex')}` },
      sweeps: { intervalMs: 3_600_000 },
    });
  }, 120_000);
  afterAll(() => server.stop());

  test('the demo tenant has every sample garment and person photo, and its key is kept in the data directory', async () => {
    expect(server.demo).toMatchObject({ created: true });
    const data = await ok(
      server.url,
      server.demo!.apiKey,
      `{ tenant { name } garments(first: 100) { totalCount } personPhotos { totalCount } }`,
    );
    expect(data).toEqual({
      tenant: { name: 'Atelier demo' },
      garments: { totalCount: sampleIndex.garments.length },
      personPhotos: { totalCount: sampleIndex.persons.length },
    });
    expect(JSON.parse(readFileSync(join(server.dataDir, 'demo.json'), 'utf8'))).toEqual({
      tenantId: server.demo!.tenantId,
      apiKey: server.demo!.apiKey,
    });
  });

  test('the demo endpoint gives a visitor a shopper session (never a key) with its own copies of the sample photos', async () => {
    expect((await demoSession(server.url, 'short')).status).toBe(400);
    const visitor = randomBytes(24).toString('base64url');
    const first = await demoSession(server.url, visitor);
    expect(first.status).toBe(200);
    const { token, expiresAt } = (await first.json()) as { token: string; expiresAt: string };
    expect(token).toMatch(/^ats_/);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(55 * 60_000);
    const photos = await ok(server.url, token, `{ personPhotos { totalCount edges { node { shopper { externalId } } } } }`);
    expect(photos.personPhotos.totalCount).toBe(sampleIndex.persons.length);
    expect(photos.personPhotos.edges[0]!.node.shopper.externalId).toBe(`demo-visitor-${visitor}`);
    // A shopper session, not a key: it cannot manage the tenant.
    expect(
      (await gql(server.url, token, `mutation { createShopper(input: { externalId: "x" }) { shopper { id } } }`)).errors?.[0]?.extensions
        ?.code,
    ).toBe('FORBIDDEN');
    // The same visitor again: the same shopper, no second copy of the photos.
    const again = (await (await demoSession(server.url, visitor)).json()) as { token: string };
    expect((await ok(server.url, again.token, `{ personPhotos { totalCount } }`)).personPhotos.totalCount).toBe(sampleIndex.persons.length);
  });

  test('referenceCacheChanged sends a new garment once its cache is READY, to its own tenant only', async () => {
    const own = (await createTenant(server.url, 'Live')).adminKey;
    const other = (await createTenant(server.url, 'Other')).adminKey;
    const ownClient = wsClient(server.url, own);
    const otherClient = wsClient(server.url, other);
    const otherEvents: unknown[] = [];
    const received = new Promise<{ referenceCacheChanged: { sku: string; referenceCache: { status: string; bytes: number } } }>(
      (resolve, reject) => {
        ownClient.subscribe({ query: CACHE_CHANGED }, { next: (v) => resolve(v.data as never), error: reject, complete: () => undefined });
      },
    );
    const stopOther = otherClient.subscribe(
      { query: CACHE_CHANGED },
      { next: (v) => otherEvents.push(v), error: () => undefined, complete: () => undefined },
    );
    // Let both subscriptions become active before the garment is created.
    await new Promise((r) => setTimeout(r, 500));
    await createGarment(
      server.url,
      own,
      'LIVE-1',
      'TOP',
      `data:image/png;base64,${readFileSync(join(samples, 'garments/top/g0.png')).toString('base64')}`,
    );
    const event = await received;
    expect(event.referenceCacheChanged).toMatchObject({ sku: 'LIVE-1', referenceCache: { status: 'READY' } });
    expect(event.referenceCacheChanged.referenceCache.bytes).toBeGreaterThan(1000);
    await new Promise((r) => setTimeout(r, 300));
    expect(otherEvents).toEqual([]);
    stopOther();
    await ownClient.dispose();
    await otherClient.dispose();
  });

  test('referenceCacheChanged needs a token', async () => {
    const client = wsClient(server.url, null);
    const result = await collect(client, CACHE_CHANGED, {});
    await client.dispose();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('without the demo', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(() => server.stop());

  test('no demo tenant is created for a test database and the demo endpoint is not served', async () => {
    expect(server.demo).toBeNull();
    expect((await demoSession(server.url, randomBytes(24).toString('base64url'))).status).toBe(404);
  });
});

describe('the demo endpoint is rate limited like /graphql', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { ATELIER_RATE_ANONYMOUS_PER_S: '0.01', ATELIER_RATE_ANONYMOUS_BURST: '2' }, { demo: true });
  }, 120_000);
  afterAll(() => server.stop());

  test('past the anonymous burst a caller gets 429 RATE_LIMITED before the body is read', async () => {
    expect((await demoSession(server.url, 'short')).status).toBe(400);
    expect((await demoSession(server.url, 'short')).status).toBe(400);
    const refused = await demoSession(server.url, randomBytes(24).toString('base64url'));
    expect(refused.status).toBe(429);
    expect(JSON.stringify(await refused.json())).toContain('RATE_LIMITED');
  });
});

// An address of this machine that is not loopback: a request to it comes from it.
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && !a.internal && a.family === 'IPv4')?.address;
const withExternal = external ? test : test.skip;
if (!external) process.stdout.write('demo: the remote-caller tests are skipped: this machine has no non-loopback IPv4 address\n');

describe('the demo endpoint answers callers on this machine only', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { HOST: '0.0.0.0' }, { demo: true });
  }, 120_000);
  afterAll(() => server.stop());

  withExternal('a caller off loopback gets 403 DEMO_LOOPBACK_ONLY, and creates nothing; on loopback it gets a session', async () => {
    const shoppers = () => server.db.withSystem((tx) => tx.shopper.count());
    const refused = await demoSession(`http://${external}:${server.port}`, randomBytes(24).toString('base64url'));
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: { code: 'DEMO_LOOPBACK_ONLY', message: expect.any(String) } });
    expect(await shoppers()).toBe(0);
    expect((await demoSession(`http://127.0.0.1:${server.port}`, randomBytes(24).toString('base64url'))).status).toBe(200);
    expect(await shoppers()).toBe(1);
  });
});

describe('remote callers allowed, and new demo visitors limited per address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      'pglite',
      { HOST: '0.0.0.0', ATELIER_DEMO_ALLOW_REMOTE: 'true', ATELIER_DEMO_VISITORS_PER_HOUR: '2' },
      { demo: true },
    );
  }, 120_000);
  afterAll(() => server.stop());

  test('past ATELIER_DEMO_VISITORS_PER_HOUR new visitors an address gets 429 DEMO_VISITOR_LIMIT; known visitors still get sessions', async () => {
    const url = `http://127.0.0.1:${server.port}`;
    const visitors = [0, 1, 2].map(() => randomBytes(24).toString('base64url'));
    expect((await demoSession(url, visitors[0])).status).toBe(200);
    expect((await demoSession(url, visitors[1])).status).toBe(200);
    const refused = await demoSession(url, visitors[2]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(await refused.json()).toEqual({ error: { code: 'DEMO_VISITOR_LIMIT', message: expect.any(String) } });
    expect(await server.db.withSystem((tx) => tx.shopper.count({ where: { externalId: `demo-visitor-${visitors[2]}` } }))).toBe(0);
    expect((await demoSession(url, visitors[0])).status).toBe(200);
  });

  withExternal('ATELIER_DEMO_ALLOW_REMOTE=true lets a caller off loopback in (its own address, its own count)', async () => {
    expect((await demoSession(`http://${external}:${server.port}`, randomBytes(24).toString('base64url'))).status).toBe(200);
  });
});
