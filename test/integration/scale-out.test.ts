// Scaled out for real: two API processes and two worker processes on one PostgreSQL and
// one Redis, twice: blobs in a data directory they all share, then blobs in S3-compatible
// storage (a server of the test's own on loopback) with a data directory of its own for each
// process. A render requested through one API is watched through the other; a worker
// killed with SIGKILL mid-render leaves the render to the other worker; images and the demo
// store made through one API are served by the other. (The embedded server stopped
// mid-render is in faults.test.ts.)
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '../support/server';
import { RENDER_STATE, spawnServer, waitFor, waitForRender, type ServerProcess } from '../support/process';
import { createGarment, createTenant, gql, ok, uploadPersonPhoto, createOutfit } from '../support/graphql-client';
import type { NodeAnswer } from '../support/answers';
import { collect, wsClient } from '../support/graphql-ws';
import { projectRoot } from '../../src/common/project-paths';
import { startS3Server, type S3TestServer } from '../support/s3';
import { Redis } from 'ioredis';
import { decodeEvent, renderProgressChannel, type RenderEvent } from '../../src/renders/render-progress';

const MODEL_DIR = process.env.TEST_MODEL_DIR ?? 'models/tryon-tiny';
const samples = join(resolve(projectRoot, MODEL_DIR), 'samples');
const index = JSON.parse(readFileSync(join(samples, 'index.json'), 'utf8')) as {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
};
const sample = (path: string) => `data:image/png;base64,${readFileSync(join(samples, path)).toString('base64')}`;
const OPERATOR = 'test-operator-token-0123456789';

async function setUpTenant(url: string) {
  const { adminKey } = await createTenant(url, 'Scale', 10);
  const g = await createGarment(url, adminKey, 'top', 'TOP', sample(index.garments.find((x) => x.category === 'TOP')!.image));
  const photo = await uploadPersonPhoto(url, adminKey, sample(index.persons[0]!.image));
  const outfit = await createOutfit(url, adminKey, [g], 'o');
  return { adminKey, photo, outfit };
}

const scaledOut = process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL ? describe : describe.skip;

/** Where the processes keep blobs: the environment each gets, and the previews a render has in storage. */
interface BlobLayout {
  /** Variables for one process (called once per process). */
  env(): Record<string, string>;
  previews(renderUuid: string): Promise<string[]>;
  close(): Promise<void>;
}

/** One data directory that every process shares (a volume). */
function sharedDirectory(): BlobLayout {
  const dataDir = mkdtempSync(join(tmpdir(), 'atelier-scale-'));
  const previewsRoot = join(dataDir, 'blobs', 'previews');
  return {
    env: () => ({ ATELIER_DATA_DIR: dataDir }),
    async previews(renderUuid) {
      if (!existsSync(previewsRoot)) return [];
      const dirs = readdirSync(previewsRoot)
        .map((tenant) => join(previewsRoot, tenant, renderUuid))
        .filter((dir) => existsSync(dir));
      return dirs.flatMap((dir) => readdirSync(dir));
    },
    close: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Blobs in an S3-compatible bucket; each process has a data directory of its own, which must stay empty. */
async function objectStorage(): Promise<BlobLayout & { dataDirs: string[] }> {
  const s3: S3TestServer = await startS3Server();
  const bucket = await s3.createBucket();
  const dataDirs: string[] = [];
  return {
    dataDirs,
    env() {
      const dataDir = mkdtempSync(join(tmpdir(), 'atelier-scale-own-'));
      dataDirs.push(dataDir);
      return { ...s3.env, ATELIER_S3_BUCKET: bucket, ATELIER_S3_PREFIX: 'scale-out', ATELIER_DATA_DIR: dataDir };
    },
    previews: async (renderUuid) => (await s3.listKeys(bucket, 'scale-out/previews/')).filter((key) => key.includes(`/${renderUuid}/`)),
    async close() {
      await s3.stop();
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const layouts: Array<[string, () => Promise<BlobLayout>]> = [
  ['blobs in a shared data directory', async () => sharedDirectory()],
  ['blobs in S3-compatible storage, a data directory each', objectStorage],
];

scaledOut.each(layouts)('two APIs and two workers on PostgreSQL and Redis, %s', (layoutName, makeLayout) => {
  const processes: ServerProcess[] = [];
  let dropDatabase: () => Promise<void>;
  let layout: BlobLayout;
  let apis: string[];
  let apiProcesses: ServerProcess[];
  let workers: ServerProcess[];

  jest.setTimeout(240_000);

  beforeAll(async () => {
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    layout = await makeLayout();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL!,
      ATELIER_SECRETS: randomBytes(32).toString('base64url'),
      ATELIER_ADMIN_TOKEN: OPERATOR,
      ATELIER_MODEL_DIR: MODEL_DIR,
      ATELIER_JOB_LOCK_MS: '2000',
      ATELIER_RENDER_CONCURRENCY: '1',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    const base = 41000 + Math.floor(Math.random() * 8000);
    // The first API applies the migrations and creates the demo store; the rest start together.
    const first = spawnServer({ ...env, ...layout.env(), ATELIER_DEMO: 'on', PORT: String(base) }, 'api');
    processes.push(first);
    await waitFor(() => first.output().includes('serving GraphQL') && first.output().includes('Demo tenant'), 90_000, 'the first API');
    const second = spawnServer({ ...env, ...layout.env(), ATELIER_DEMO: 'on', PORT: String(base + 1) }, 'api');
    workers = [spawnServer({ ...env, ...layout.env() }, 'worker'), spawnServer({ ...env, ...layout.env() }, 'worker')];
    processes.push(second, ...workers);
    await waitFor(
      () => second.output().includes('Demo tenant') && workers.every((w) => w.output().includes('worker running')),
      120_000,
      'every process',
    );
    apis = [`http://127.0.0.1:${base}`, `http://127.0.0.1:${base + 1}`];
    apiProcesses = [first, second];
  });

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await dropDatabase?.();
    await layout?.close();
  });

  test('the demo store created through one API is the one the other serves', async () => {
    const [first, second] = apiProcesses as [ServerProcess, ServerProcess];
    const demoKey = (output: string) => /catalog with its API key: (atk_\S+)/.exec(output)?.[1];
    expect(first.output()).toContain('Demo tenant created');
    expect(second.output()).not.toContain('Demo tenant created');
    // The key is printed once, by the start that creates it; the other says where it is kept.
    const key = demoKey(first.output());
    expect(key).toBeDefined();
    expect(second.output()).not.toContain(key!);
    expect(second.output()).toMatch(/catalog with its API key, kept in \S/);
    const response = await fetch(`${apis[1]}/demo/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ visitor: randomBytes(16).toString('base64url') }),
    });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect((await ok(apis[0]!, token, `{ garments(first: 10) { totalCount } }`)).garments.totalCount).toBeGreaterThan(0);
  });

  test("an image stored through one API, and a render's result, are served by the other", async () => {
    const [a, b] = apis as [string, string];
    const { adminKey, photo, outfit } = await setUpTenant(a);
    const { render } = (
      await ok(
        a,
        adminKey,
        `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: 4 }) { render { id } } }`,
        { o: outfit, p: photo },
      )
    ).requestRender;
    await waitForRender(a, adminKey, render.id, (n) => n.status === 'SUCCEEDED' || n.status === 'FAILED');
    const read = await ok<{ p: NodeAnswer; r: NodeAnswer }>(
      b,
      adminKey,
      `query($p: ID!, $r: ID!) { p: node(id: $p) { ... on PersonPhoto { image { url } } } r: node(id: $r) { ... on Render { status result { url } } } }`,
      { p: photo, r: render.id },
    );
    expect(read.r.status).toBe('SUCCEEDED');
    for (const url of [read.p.image.url, read.r.result.url] as string[]) {
      // Asked of the other API, whatever host the link names.
      const { pathname, search } = new URL(url);
      const image = await fetch(`${b}${pathname}${search}`);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toMatch(/^image\//);
      expect((await image.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
  });

  test('a render requested through one API is watched through the other, every step arriving', async () => {
    const [a, b] = apis as [string, string];
    const { adminKey, photo, outfit } = await setUpTenant(a);
    const request = (steps: number) =>
      ok(
        a,
        adminKey,
        `mutation($o: ID!, $p: ID!, $s: Int) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: $s }) { render { id } } }`,
        { o: outfit, p: photo, s: steps },
      );
    // Keep both workers busy, with more waiting, so the watched render stays QUEUED until every
    // subscriber is in (a 100-step render takes only a second or two).
    const blockers: string[] = [];
    for (let i = 0; i < 6; i++) blockers.push((await request(100)).requestRender.render.id);
    for (const id of blockers.slice(0, 2)) await waitForRender(a, adminKey, id, (n) => n.status === 'RUNNING');
    const { render } = (await request(8)).requestRender;
    const clients = [wsClient(b, adminKey), wsClient(a, adminKey)];
    const subscribed: Promise<void>[] = [];
    const results = Promise.all(
      clients.map((c) => {
        let firstEvent!: () => void;
        subscribed.push(new Promise<void>((r) => (firstEvent = r)));
        return collect(c, `subscription($id: ID!) { renderProgress(renderId: $id) { status step } }`, { id: render.id }, () =>
          firstEvent(),
        );
      }),
    );
    await Promise.all(subscribed);
    for (const id of blockers) await ok(a, adminKey, `mutation($id: ID!) { cancelRender(id: $id) { userErrors { code } } }`, { id });
    const collected = await results;
    await Promise.all(clients.map((c) => c.dispose()));
    for (const result of collected) {
      expect(result.completed).toBe(true);
      const events = result.events.map((e) => e.renderProgress);
      expect(events[0]).toEqual({ status: 'QUEUED', step: 0 });
      expect(events[events.length - 1]).toEqual({ status: 'SUCCEEDED', step: 8 });
      expect(events.filter((e) => e.status === 'RUNNING' && e.step > 0).map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  test('previews cross processes: none while nobody watches with previews, made for a subscription on another API', async () => {
    const [a, b] = apis as [string, string];
    const { adminKey, photo, outfit } = await setUpTenant(a);
    const tenantUuid = (await ok(a, adminKey, `{ tenant { id } }`)).tenant.id as string;
    const uuid = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1]!;
    const request = async (steps: number) =>
      (
        await ok(
          a,
          adminKey,
          `mutation($o: ID!, $p: ID!, $s: Int) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: $s }) { render { id } } }`,
          { o: outfit, p: photo, s: steps },
        )
      ).requestRender.render.id as string;
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    try {
      /**
       * Every event of a render as its worker published it (previews included whatever a subscriber asked), and what a client on API b
       * received.
       */
      const watched = async (previews: boolean) => {
        // Both workers busy, so the render waits QUEUED until everyone listens.
        const blockers = [await request(100), await request(100)];
        for (const id of blockers) await waitForRender(a, adminKey, id, (n) => n.status === 'RUNNING');
        const id = await request(30);
        const published: RenderEvent[] = [];
        const channel = renderProgressChannel(uuid(tenantUuid), uuid(id)).name;
        redis.on('message', (from: string, message: string) => from === channel && published.push(decodeEvent(message)));
        await redis.subscribe(channel);
        const client = wsClient(b, adminKey);
        let subscribed!: () => void;
        const first = new Promise<void>((r) => (subscribed = r));
        const received = collect(
          client,
          `subscription($id: ID!, $p: Boolean) { renderProgress(renderId: $id, previews: $p) { status step preview { url } } }`,
          { id, p: previews },
          () => subscribed(),
        );
        await first;
        for (const blocker of blockers)
          await ok(a, adminKey, `mutation($id: ID!) { cancelRender(id: $id) { userErrors { code } } }`, { id: blocker });
        const result = await received;
        await client.dispose();
        await redis.unsubscribe(channel);
        redis.removeAllListeners('message');
        expect(result.completed).toBe(true);
        return { published, received: result.events.map((e) => e.renderProgress) };
      };
      const unwatched = await watched(false);
      expect(unwatched.published.filter((e) => e.step > 0 && !e.final)).toHaveLength(30);
      expect(unwatched.published.filter((e) => e.preview !== null)).toEqual([]);
      const watching = await watched(true);
      expect(watching.published.filter((e) => e.preview !== null).length).toBeGreaterThan(0);
      expect(watching.received.filter((e) => e.preview !== null).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  test('an API key revoked through one API stops working on the other at once, not after its cache expires', async () => {
    const [a, b] = apis as [string, string];
    const { adminKey } = await createTenant(a);
    const { secret, apiKey } = (
      await ok(a, adminKey, `mutation { createApiKey(input: { name: "k", scopes: [CATALOG_READ] }) { secret apiKey { id } } }`)
    ).createApiKey;
    await ok(b, secret, `{ tenant { id } }`); // b now holds the key in its authentication cache
    await ok(a, adminKey, `mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }`, { id: apiKey.id });
    const revokedAt = Date.now();
    let code: unknown;
    while (Date.now() - revokedAt < 2_000) {
      code = (await gql(b, secret, `{ tenant { id } }`)).errors?.[0]?.extensions?.code;
      if (code === 'UNAUTHENTICATED') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The cache trusts a key for 5 s; refusal well within that means the revocation was broadcast.
    expect(code).toBe('UNAUTHENTICATED');
  });

  test("a garment created through one API shows at once in the other API's cached catalog page", async () => {
    const [a, b] = apis as [string, string];
    const { adminKey } = await createTenant(a);
    const PAGE = `{ garments(first: 10) { totalCount } }`;
    await ok(b, adminKey, PAGE);
    expect((await ok(b, adminKey, PAGE)).garments.totalCount).toBe(0); // now cached on b for 5 s
    await createGarment(a, adminKey, 'X', 'TOP');
    const createdAt = Date.now();
    let count = 0;
    while (count === 0 && Date.now() - createdAt < 2_000) {
      count = (await ok(b, adminKey, PAGE)).garments.totalCount;
      if (count === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(count).toBe(1);
  });

  test('kill -9 of the worker running a render: the other worker completes it', async () => {
    const [a] = apis as [string];
    const { adminKey, photo, outfit } = await setUpTenant(a);
    const { render } = (
      await ok(
        a,
        adminKey,
        `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: 100 }) { render { id } } }`,
        { o: outfit, p: photo },
      )
    ).requestRender;
    const renderUuid = Buffer.from(render.id, 'base64url').toString().split(':')[1]!;
    // Killed as soon as a step event with a preview (so one is in storage) is published: a
    // 100-step render may take under a second, less than polling the render would leave.
    const client = wsClient(a, adminKey);
    let victim: ServerProcess | undefined;
    const killed = new Promise<void>((resolveKilled, rejectKilled) => {
      void collect(
        client,
        `subscription($id: ID!) { renderProgress(renderId: $id, previews: true) { status step preview { url } } }`,
        { id: render.id },
        (event) => {
          if (victim !== undefined || event.renderProgress.status !== 'RUNNING' || event.renderProgress.preview === null) return;
          victim = workers.find((w) => w.output().includes(renderUuid));
          if (victim === undefined) {
            rejectKilled(new Error('no worker logged the render it runs'));
            return;
          }
          victim.child.kill('SIGKILL');
          void victim.exited.then(() => resolveKilled());
        },
      );
    });
    await killed;
    const interrupted = (await ok(a, adminKey, RENDER_STATE, { id: render.id })).node;
    expect(interrupted.completedSteps).toBeLessThan(100);
    // The killed attempt's previews (the one it published at least) are in storage...
    expect((await layout.previews(renderUuid)).length).toBeGreaterThan(0);
    const done = await waitForRender(a, adminKey, render.id, (n) => n.status === 'SUCCEEDED' || n.status === 'FAILED', 180_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', completedSteps: 100 });
    expect(done.attempts).toBe(2);
    // ...and gone with the render's end, with the second attempt's.
    expect(await layout.previews(renderUuid)).toEqual([]);
    await client.dispose();
  }, 240_000);

  // Only the object-storage layout gives each process a data directory of its own to inspect.
  if (layoutName.includes('S3')) {
    test('with S3, no process wrote anything to its own data directory', () => {
      const { dataDirs } = layout as BlobLayout & { dataDirs: string[] };
      expect(dataDirs).toHaveLength(4);
      for (const dir of dataDirs) expect(readdirSync(dir)).toEqual([]);
    });
  }
});
