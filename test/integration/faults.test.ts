// Faults of the things the platform stands on, for real: PostgreSQL connections terminated
// (idle and with a request in flight) and dropped at the COMMIT of each kind of write (before
// and after PostgreSQL committed, through a proxy), Redis killed and restarted without
// persistence in the middle of renders and with a photo's encoding job in it, a server stopped
// while Redis is down, and the embedded server stopped (SIGTERM, SIGKILL) mid-render. After
// each, the platform answers again without a restart (or, stopped, exits cleanly), no write
// happens twice and no render or encoding is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { createTestDatabase, startTestServer, type TestServer } from '../support/server';
import { PgFaultProxy, type CommitFault } from '../support/pg-fault-proxy';
import { spawnServer, waitFor, waitForRender, type ServerProcess } from '../support/process';
import { createGarment, createTenant, gql, ok, OPERATOR, pngDataUrl, uploadPersonPhoto, createOutfit } from '../support/graphql-client';
import { collect, wsClient } from '../support/graphql-ws';
import { postgresConfig } from '../../src/db/database';
import { RenderRepository } from '../../src/renders/render-repository';
import { fromGlobalId } from '../../src/common/ids';
import { projectRoot } from '../../src/common/project-paths';

const MODEL_DIR = process.env.TEST_MODEL_DIR ?? 'models/tryon-tiny';
const samples = join(resolve(projectRoot, MODEL_DIR), 'samples');
const index = JSON.parse(readFileSync(join(samples, 'index.json'), 'utf8')) as {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
};
const sample = (path: string) => `data:image/png;base64,${readFileSync(join(samples, path)).toString('base64')}`;
const REQUEST = `mutation($o: ID!, $p: ID!, $s: Int) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: $s }) { render { id } userErrors { code } } }`;
const PROGRESS = `subscription($id: ID!) { renderProgress(renderId: $id) { status step } }`;

async function setUpTenant(url: string) {
  const adminKey = (await ok(url, OPERATOR, `mutation { createTenant(input: { name: "Faults", maxConcurrentRenders: 10 }) { apiKey } }`))
    .createTenant.apiKey as string;
  const g = await createGarment(url, adminKey, 'top', 'TOP', sample(index.garments.find((x) => x.category === 'TOP')!.image));
  const photo = await uploadPersonPhoto(url, adminKey, sample(index.persons[0]!.image));
  const outfit = await createOutfit(url, adminKey, [g], 'o');
  const request = async (steps: number): Promise<string> => {
    const { requestRender } = await ok(url, adminKey, REQUEST, { o: outfit, p: photo, s: steps });
    if (!requestRender.render) throw new Error(`requestRender refused: ${JSON.stringify(requestRender.userErrors)}`);
    return requestRender.render.id;
  };
  return { adminKey, photo, outfit, request };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

// ---- (a) PostgreSQL connections dropped ---------------------------------------------------

const withPostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;
if (!process.env.TEST_DATABASE_URL) process.stdout.write('faults: PostgreSQL connection tests skipped: TEST_DATABASE_URL is not set\n');

withPostgres('PostgreSQL connections terminated', () => {
  let server: TestServer;
  let admin: pg.Client;
  let database: string;
  let key: string;

  /** Terminates every backend of the test database except `keep`, waits until they are gone; returns how many. */
  async function terminateBackends(keep: number[] = []): Promise<number> {
    const { rows } = await admin.query<{ pid: number }>(
      // In the select list, so it runs only for the rows the WHERE clause kept.
      `SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND NOT (pid = ANY($2::int[]))`,
      [database, keep],
    );
    const pids = rows.map((r) => r.pid);
    const deadline = Date.now() + 10_000;
    while (
      (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])`, [pids])).rows[0]!.n >
      0
    ) {
      if (Date.now() > deadline) throw new Error('terminated backends did not go away');
      await new Promise((r) => setTimeout(r, 20));
    }
    return pids.length;
  }

  beforeAll(async () => {
    server = await startTestServer('postgres');
    database = new URL(server.databaseUrl!).pathname.slice(1);
    admin = new pg.Client(postgresConfig(process.env.TEST_DATABASE_URL!));
    await admin.connect();
    key = (await createTenant(server.url, 'Pg')).adminKey;
    await createGarment(server.url, key, 'before', 'TOP');
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  // `tenant` carries no cache hint, so this read is executed against PostgreSQL every time
  // (a catalog-only query could be answered from the answer cache without touching it).
  const READ = `{ garments { totalCount } tenant { id } }`;

  const healthy = async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await ok(server.url, key, READ)).garments.totalCount).toBeGreaterThan(0);
  };

  test('idle connections terminated: the next requests succeed, reads and writes', async () => {
    // Warm the pool with several connections at once, so several are idle when terminated.
    await Promise.all(Array.from({ length: 5 }, () => ok(server.url, key, READ)));
    expect(await terminateBackends()).toBeGreaterThan(0);
    const answers = await Promise.all(Array.from({ length: 8 }, () => gql(server.url, key, READ)));
    expect(answers.map((a) => a.errors?.[0]?.extensions?.code ?? 'OK')).toEqual(Array(8).fill('OK'));
    await createGarment(server.url, key, 'after-idle', 'BOTTOM');
    await healthy();
  });

  test('a request in flight when its connection is terminated gets an answer, and the next ones succeed', async () => {
    // Hold a lock the request needs, so it is certainly in flight (waiting in PostgreSQL) when its backend dies.
    const locker = new pg.Client(server.databaseUrl ? postgresConfig(server.databaseUrl) : {});
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE garments IN ACCESS EXCLUSIVE MODE');
      const inFlight = gql(server.url, key, READ);
      const waiting = async () =>
        (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [database]))
          .rows[0].n > 0;
      const deadline = Date.now() + 10_000;
      while (!(await waiting())) {
        if (Date.now() > deadline) throw new Error('the request never waited for the lock');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await terminateBackends([(locker as unknown as { processID: number }).processID])).toBeGreaterThan(0);
      await locker.query('COMMIT');
      const answer = await inFlight;
      // Retried on a fresh connection: the client never sees the dropped one.
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.garments.totalCount).toBeGreaterThan(0);
    } finally {
      await locker.end();
    }
    await createGarment(server.url, key, 'after-in-flight', 'SHOES');
    await healthy();
  });

  test('reconnected connections still run as the application role: row-level security holds', async () => {
    await terminateBackends();
    await healthy();
    expect(await server.db.withoutTenant((tx) => tx.garment.count())).toBe(0);
    expect(await server.db.withSystem((tx) => tx.garment.count())).toBe(3);
  });
});

withPostgres('connection lost at COMMIT', () => {
  let server: TestServer;
  let proxy: PgFaultProxy;
  let dropDatabase: () => Promise<void>;
  let admin: pg.Client;
  let databaseName: string;
  let key: string;
  let tenantId: string;
  let request: (steps: number) => Promise<string>;

  beforeAll(async () => {
    // The server reaches its database through a proxy that can drop a connection at a COMMIT.
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    admin = new pg.Client(postgresConfig(process.env.TEST_DATABASE_URL!));
    await admin.connect();
    const direct = new URL(database.url);
    databaseName = direct.pathname.slice(1);
    proxy = new PgFaultProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(await proxy.start());
    server = await startTestServer('postgres', { DATABASE_URL: proxied.toString() });
    const tenant = await setUpTenant(server.url);
    key = tenant.adminKey;
    request = tenant.request;
    tenantId = (await server.db.withSystem((tx) => tx.tenant.findFirstOrThrow({ where: { name: 'Faults' } }))).id;
    await ok(
      server.url,
      key,
      `mutation { addWebhookEndpoint(input: { url: "https://hooks.example.com/h", events: [RENDER_FAILED] }) { endpoint { id } } }`,
    );
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await admin?.end();
    await dropDatabase?.();
  });

  /**
   * Each kind of write the database layer retries after a lost connection: the write, the
   * statement that marks its transaction, and what must hold afterwards (written once, and
   * answered as a success, whether the COMMIT was lost before or after PostgreSQL made it).
   */
  const writes: { kind: string; statement: RegExp; run: (n: string) => Promise<() => Promise<void>> }[] = [
    {
      kind: 'a row created with an id chosen before (createShopper)',
      statement: /^INSERT INTO "public"\."shoppers"/,
      run: async (n) => {
        const answer = await gql(
          server.url,
          key,
          `mutation($e: String!) { createShopper(input: { externalId: $e }) { shopper { externalId } userErrors { code } } }`,
          { e: `ext-${n}` },
        );
        return async () => {
          expect(answer).toMatchObject({ data: { createShopper: { shopper: { externalId: `ext-${n}` }, userErrors: [] } } });
          expect(await server.db.withSystem((tx) => tx.shopper.count({ where: { externalId: `ext-${n}` } }))).toBe(1);
        };
      },
    },
    {
      kind: 'rows created together (the deliveries of a webhook event)',
      statement: /^INSERT INTO "public"\."webhook_deliveries"/,
      run: async (n) => {
        await server.services.webhooks.notify(tenantId, 'RENDER_FAILED', { marker: n });
        return async () => {
          expect(
            await server.db.withSystem((tx) => tx.webhookDelivery.count({ where: { payload: { contains: `"marker":"${n}"` } } })),
          ).toBe(1);
        };
      },
    },
    {
      kind: 'a counter incremented (a worker starts a render: attempts + 1)',
      statement: /^UPDATE "public"\."renders"/,
      run: async () => {
        const renderId = fromGlobalId(await request(2), 'Render')!;
        const { model } = await server.db.withSystem((tx) => tx.render.findUniqueOrThrow({ where: { id: renderId } }));
        const started = await new RenderRepository(server.db).startWithInputs(tenantId, renderId, new Date(), model);
        return async () => {
          expect(started?.render).toMatchObject({ status: 'RUNNING', attempts: 1 });
          expect(await server.db.withSystem((tx) => tx.render.findUniqueOrThrow({ where: { id: renderId } }))).toMatchObject({
            attempts: 1,
          });
        };
      },
    },
    {
      kind: 'a state changed only from the state before (cancelRender)',
      statement: /^UPDATE "public"\."renders"/,
      run: async () => {
        const renderId = await request(2);
        const answer = await gql(
          server.url,
          key,
          `mutation($id: ID!) { cancelRender(id: $id) { render { status } userErrors { code } } }`,
          { id: renderId },
        );
        return async () => {
          expect(answer).toMatchObject({ data: { cancelRender: { render: { status: 'CANCELED' }, userErrors: [] } } });
        };
      },
    },
    {
      kind: 'a row deleted (deletePersonPhoto)',
      statement: /^DELETE FROM "public"\."person_photos"/,
      run: async () => {
        const d = await pngDataUrl();
        const photo = await uploadPersonPhoto(server.url, key, d);
        const answer = await gql(
          server.url,
          key,
          `mutation($id: ID!) { deletePersonPhoto(id: $id) { deletedPersonPhotoId userErrors { code } } }`,
          { id: photo },
        );
        return async () => {
          expect(answer).toMatchObject({ data: { deletePersonPhoto: { deletedPersonPhotoId: photo, userErrors: [] } } });
          expect(await server.db.withSystem((tx) => tx.personPhoto.count({ where: { id: fromGlobalId(photo, 'PersonPhoto')! } }))).toBe(0);
        };
      },
    },
  ];

  test('when PostgreSQL cannot tell within 10 s whether the COMMIT happened, the write is not retried: the request fails, nothing is written twice', async () => {
    const fired = proxy.arm(/^INSERT INTO "public"\."shoppers"/, 'hold');
    try {
      const answer = await gql(
        server.url,
        key,
        `mutation { createShopper(input: { externalId: "held" }) { shopper { id } userErrors { code } } }`,
      );
      await fired;
      expect(answer.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      proxy.disarm();
      proxy.releaseHeld();
    }
    // The held transaction aborts once its connection closes: the shopper exists 0 times, not 2.
    const deadline = Date.now() + 10_000;
    while (
      (
        await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'`, [
          databaseName,
        ])
      ).rows[0].n > 0
    ) {
      if (Date.now() > deadline) throw new Error('the held transaction never ended');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await server.db.withSystem((tx) => tx.shopper.count({ where: { externalId: 'held' } }))).toBe(0);
  }, 60_000);

  describe.each(['before', 'after'] as CommitFault[])('dropped %s PostgreSQL committed', (mode) => {
    test.each(writes.map((w) => [w.kind, w] as const))('%s: written once, answered as done', async (_kind, write) => {
      const n = `${mode}-${Math.random().toString(36).slice(2, 8)}`;
      const fired = proxy.arm(write.statement, mode);
      let check: () => Promise<void>;
      try {
        check = await write.run(n);
        await Promise.race([fired, new Promise((_, reject) => setTimeout(() => reject(new Error('the COMMIT was never dropped')), 5_000))]);
      } finally {
        proxy.disarm();
      }
      await check();
    });
  });
});

// ---- (b) Redis restarted during renders ------------------------------------------------------

const withRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;
if (!process.env.TEST_REDIS_URL)
  process.stdout.write('faults: Redis restart test skipped: TEST_REDIS_URL is not set (it signals that redis-server is available)\n');

/** A redis-server of the test's own (no persistence), to kill and restart at will. */
function ownRedis(port: number) {
  let child: ChildProcess | null = null;
  return {
    get running() {
      return child !== null;
    },
    async start(): Promise<void> {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      started.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child = started;
      await waitFor(() => output.includes('Ready to accept connections'), 10_000, 'redis-server');
    },
    async kill(): Promise<void> {
      const stopping = child!;
      const exited = new Promise((r) => stopping.once('exit', r));
      stopping.kill('SIGKILL');
      await exited;
      child = null;
    },
  };
}

withRedis('Redis restarted without persistence during renders', () => {
  let redis: ReturnType<typeof ownRedis>;
  let port: number;
  let server: TestServer;
  jest.setTimeout(180_000);
  const startRedis = () => redis.start();
  const killRedis = () => redis.kill();

  beforeAll(async () => {
    port = await freePort();
    redis = ownRedis(port);
    await startRedis();
    server = await startTestServer(
      'pglite',
      {
        ATELIER_MODEL_DIR: MODEL_DIR,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        ATELIER_RENDER_CONCURRENCY: '1',
        ATELIER_JOB_LOCK_MS: '2000',
      },
      // The sweep that finds renders whose job was lost, on a short clock (defaults: every 15 s, after 30 s / 60 s).
      { role: 'all', sweeps: { intervalMs: 500, queuedGraceMs: 2_000, heartbeatGraceMs: 4_000 } },
    );
  });
  afterAll(async () => {
    // A test that failed with Redis down: bring it back so the server can close its queue.
    if (!redis.running) await startRedis();
    await server?.stop();
    if (redis.running) await killRedis();
  });

  test('every render reaches SUCCEEDED, and subscribers and polling see it', async () => {
    const url = server.url;
    const { adminKey, request } = await setUpTenant(url);
    // One worker slot: the first render runs while the others wait in BullMQ (lost with Redis).
    const renders = [await request(30), await request(4), await request(4)];
    const clients = renders.map(() => wsClient(url, adminKey));
    const subscribed: Promise<void>[] = [];
    const watched = Promise.all(
      clients.map((client, i) => {
        let first!: () => void;
        subscribed.push(new Promise<void>((r) => (first = r)));
        return collect(client, PROGRESS, { id: renders[i] }, () => first());
      }),
    );
    await Promise.all(subscribed);
    await waitForRender(url, adminKey, renders[0]!, (n) => n.status === 'RUNNING' && n.completedSteps! >= 1);

    await killRedis();
    // Requests keep being answered while Redis is down: reads, and renders requested and
    // canceled (their rows are the truth; the sweep enqueues what could not be).
    expect((await ok(url, adminKey, `{ renders { totalCount } }`)).renders.totalCount).toBe(3);
    const started = Date.now();
    renders.push(await request(2));
    const canceled = await request(2);
    const cancel = await ok(url, adminKey, `mutation($id: ID!) { cancelRender(id: $id) { render { status } userErrors { code } } }`, {
      id: canceled,
    });
    expect(cancel.cancelRender).toEqual({ render: { status: 'CANCELED' }, userErrors: [] });
    expect(Date.now() - started).toBeLessThan(15_000);
    await startRedis();

    // A render requested after the restart goes through the new, empty Redis.
    renders.push(await request(2));
    for (const id of renders) {
      const done = await waitForRender(url, adminKey, id, (n) => n.status === 'SUCCEEDED' || n.status === 'FAILED', 120_000);
      expect(done).toMatchObject({ status: 'SUCCEEDED', error: null });
    }
    expect(await waitForRender(url, adminKey, canceled, () => true)).toMatchObject({ status: 'CANCELED' });
    const results = await Promise.race([
      watched,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('a subscriber never saw its render finish')), 30_000)),
    ]);
    await Promise.all(clients.map((c) => c.dispose()));
    for (const result of results) {
      expect(result.errors).toBeUndefined();
      expect(result.completed).toBe(true);
      expect(result.events[result.events.length - 1]!.renderProgress.status).toBe('SUCCEEDED');
    }
  });
});

const withPostgresAndRedis = process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL ? describe : describe.skip;

withPostgresAndRedis('person encodings lost with a Redis restarted without persistence', () => {
  test('a photo whose encoding job was lost is encoded by the sweep, not left to its first render', async () => {
    const redisPort = await freePort();
    const redis = ownRedis(redisPort);
    await redis.start();
    const database = await createTestDatabase();
    const shared = { DATABASE_URL: database.url, REDIS_URL: `redis://127.0.0.1:${redisPort}`, ATELIER_MODEL_DIR: MODEL_DIR };
    const prefix = { bullmq: { prefix: `atelier-test-${Math.random().toString(36).slice(2, 8)}` } };
    // An API process alone: the photo's encoding job waits in Redis, with no worker to take it.
    const api = await startTestServer('postgres', shared, { role: 'api', ...prefix });
    let worker: TestServer | null = null;
    try {
      const key = (await createTenant(api.url, 'Encodings')).adminKey;
      const photo = await uploadPersonPhoto(api.url, key, sample(index.persons[0]!.image));
      const photoId = fromGlobalId(photo, 'PersonPhoto')!;
      const encoding = () => api.db.withSystem((tx) => tx.personEncoding.findFirst({ where: { photoId } }));
      expect(await encoding()).toMatchObject({ status: 'PENDING' });
      await redis.kill();
      await redis.start(); // empty: the job is gone
      // Blobs are files under the data directory, which processes share.
      worker = await startTestServer(
        'postgres',
        { ...shared, ATELIER_DATA_DIR: api.dataDir },
        { role: 'worker', ...prefix, sweeps: { intervalMs: 300, pendingCacheGraceMs: 1_000 } },
      );
      const deadline = Date.now() + 60_000;
      while ((await encoding())?.status !== 'READY') {
        if (Date.now() > deadline) throw new Error(`the encoding never became READY: ${JSON.stringify(await encoding())}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      // No render ever asked for it.
      expect(await api.db.withSystem((tx) => tx.render.count())).toBe(0);
    } finally {
      await worker?.stop();
      await api.stop();
      if (redis.running) await redis.kill();
      await database.drop();
    }
  }, 180_000);
});

withRedis('stopped while Redis is down', () => {
  test('SIGTERM with a render running: the server still exits, cleanly, within seconds', async () => {
    const redisPort = await freePort();
    const redis = ownRedis(redisPort);
    await redis.start();
    const dataDir = mkdtempSync(join(tmpdir(), 'atelier-stop-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawnServer({
      PORT: String(port),
      HOST: '127.0.0.1',
      ATELIER_DATA_DIR: dataDir,
      ATELIER_MODEL_DIR: MODEL_DIR,
      ATELIER_ADMIN_TOKEN: OPERATOR,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      ATELIER_RENDER_CONCURRENCY: '1',
      LOG_LEVEL: 'info',
    });
    try {
      await waitFor(() => server.output().includes('serving GraphQL'), 120_000, 'the server');
      const { adminKey, request } = await setUpTenant(url);
      const id = await request(100);
      await waitForRender(url, adminKey, id, (n) => n.status === 'RUNNING');
      await redis.kill();
      const started = Date.now();
      server.child.kill('SIGTERM');
      // Every step that needs Redis gives up after its deadline (the queue, which lets running
      // jobs finish, after 10 s; pub/sub and the rate limits after 1-2 s), and the rest closes.
      expect(await server.exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(server.output()).not.toMatch(/shutdown took over/);
    } finally {
      server.child.kill('SIGKILL');
      if (redis.running) await redis.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('a progress event lost on the way', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No worker: the render stays QUEUED until the test finishes it behind pub/sub's back.
    server = await startTestServer('pglite', {}, { role: 'api', progressResyncMs: 300 });
  });
  afterAll(() => server?.stop());

  test('a subscriber that hears nothing reads the render again and sees it finish', async () => {
    const url = server.url;
    const adminKey = (await ok(url, OPERATOR, `mutation { createTenant(input: { name: "Lost" }) { apiKey } }`)).createTenant
      .apiKey as string;
    const garment = await createGarment(url, adminKey, 'g', 'TOP');
    const photo = await uploadPersonPhoto(url, adminKey, await pngDataUrl());
    const outfit = await createOutfit(url, adminKey, [garment], 'o');
    const render = (await ok(url, adminKey, REQUEST, { o: outfit, p: photo, s: 3 })).requestRender.render.id;
    const client = wsClient(url, adminKey);
    let first!: () => void;
    const subscribed = new Promise<void>((r) => (first = r));
    const watched = collect(client, PROGRESS, { id: render }, () => first());
    await subscribed;
    // The render finishes and its final event is lost (as when pub/sub reconnects after a Redis restart).
    const uuid = Buffer.from(render, 'base64url').toString().split(':')[1]!;
    await server.db.withSystem((tx) =>
      tx.render.update({ where: { id: uuid }, data: { status: 'SUCCEEDED', completedSteps: 3, finishedAt: new Date() } }),
    );
    const result = await Promise.race([
      watched,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the subscriber never saw the render finish')), 10_000)),
    ]);
    await client.dispose();
    expect(result.completed).toBe(true);
    expect(result.events.map((e) => e.renderProgress)).toEqual([
      { status: 'QUEUED', step: 0 },
      { status: 'SUCCEEDED', step: 3 },
    ]);
  });
});

// ---- (c) the embedded server stopped mid-render ------------------------------------------------

describe('embedded server stopped mid-render', () => {
  test.each(['SIGTERM', 'SIGKILL'] as const)(
    '%s: the running render and the queued one both succeed after start-up',
    async (signal) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'atelier-stop-'));
      const port = await freePort();
      const env = {
        PORT: String(port),
        HOST: '127.0.0.1',
        ATELIER_DATA_DIR: dataDir,
        ATELIER_MODEL_DIR: MODEL_DIR,
        ATELIER_ADMIN_TOKEN: OPERATOR,
        ATELIER_RENDER_CONCURRENCY: '1',
        LOG_LEVEL: 'info',
      };
      const url = `http://127.0.0.1:${port}`;
      const started: ServerProcess[] = [];
      try {
        const first = spawnServer(env);
        started.push(first);
        await waitFor(() => first.output().includes('serving GraphQL'), 120_000, 'the server');
        const { adminKey, request } = await setUpTenant(url);
        // SIGTERM lets the running render finish (so it is short); SIGKILL cuts it off (so it is long).
        const running = await request(signal === 'SIGTERM' ? 30 : 100);
        const queued = await request(3);
        await waitForRender(url, adminKey, running, (n) => n.status === 'RUNNING' && n.completedSteps! >= 1, 60_000);
        first.child.kill(signal);
        const code = await first.exited;
        if (signal === 'SIGTERM') expect(code).toBe(0);
        const second = spawnServer(env);
        started.push(second);
        await waitFor(() => second.output().includes('serving GraphQL'), 120_000, 'the restarted server');
        for (const id of [running, queued]) {
          const done = await waitForRender(url, adminKey, id, (n) => n.status === 'SUCCEEDED' || n.status === 'FAILED', 120_000);
          expect(done).toMatchObject({ status: 'SUCCEEDED', error: null });
        }
        second.child.kill('SIGTERM');
        expect(await second.exited).toBe(0);
      } catch (error) {
        // What the servers said is the best clue to why a render did not resume.
        throw new Error(
          `${(error as Error).message}\n${started
            .map((p) => p.output())
            .join('\n---\n')
            .slice(-4000)}`,
        );
      } finally {
        for (const p of started) p.child.kill('SIGKILL');
        await Promise.all(started.map((p) => p.exited));
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    400_000,
  );
});
