// Render slots are shared fairly between tenants: a tenant with a long backlog of renders does
// not hold another tenant's render until its backlog is done; the other's starts at the next
// free slot. With the real engine, on PGlite with the in-process queue and, when
// TEST_DATABASE_URL and TEST_REDIS_URL are set, on PostgreSQL with BullMQ.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createTenant, ok, uploadPersonPhoto, createOutfit } from '../support/graphql-client';
import { projectRoot } from '../../src/common/project-paths';

const MODEL_DIR = process.env.TEST_MODEL_DIR ?? 'models/tryon-tiny';
const samples = join(resolve(projectRoot, MODEL_DIR), 'samples');
const index = JSON.parse(readFileSync(join(samples, 'index.json'), 'utf8')) as {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
};
const sample = (path: string) => `data:image/png;base64,${readFileSync(join(samples, path)).toString('base64')}`;
const REQUEST = `mutation($o: ID!, $p: ID!, $s: Int) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: $s }) { render { id } userErrors { code } } }`;
const RENDER = `query($id: ID!) { node(id: $id) { ... on Render { status startedAt timings { queueMs } } } }`;

const backends = databaseKinds().map((kind) => ({
  kind,
  redis: kind === 'postgres' && process.env.TEST_REDIS_URL ? process.env.TEST_REDIS_URL : null,
}));

async function tenantWithOutfit(url: string, name: string) {
  const key = (await createTenant(url, name, 16)).adminKey;
  const garment = await createGarment(url, key, 'top', 'TOP', sample(index.garments.find((g) => g.category === 'TOP')!.image));
  const photo = await uploadPersonPhoto(url, key, sample(index.persons[0]!.image));
  const outfit = await createOutfit(url, key, [garment], 'o');
  return {
    key,
    request: async (steps: number): Promise<string> =>
      (await ok(url, key, REQUEST, { o: outfit, p: photo, s: steps })).requestRender.render.id,
  };
}

describe.each(backends)('render fairness on $kind (redis: $redis)', ({ kind, redis }) => {
  let server: TestServer;
  jest.setTimeout(300_000);

  beforeAll(async () => {
    server = await startTestServer(
      kind,
      { ATELIER_MODEL_DIR: MODEL_DIR, ATELIER_RENDER_CONCURRENCY: '2', ...(redis ? { REDIS_URL: redis } : {}) },
      { role: 'all', bullmq: { prefix: `atelier-test-${randomBytes(4).toString('hex')}` }, sweeps: { intervalMs: 3_600_000 } },
    );
  });
  afterAll(() => server.stop());

  test("a small tenant's render, requested behind a big tenant's 10 queued ones, starts at the next free slot", async () => {
    const url = server.url;
    const big = await tenantWithOutfit(url, 'Big');
    const small = await tenantWithOutfit(url, 'Small');
    const bigRenders: string[] = [];
    for (let i = 0; i < 10; i += 1) bigRenders.push(await big.request(12));
    const smallRender = await small.request(3);
    const requested = Date.now(); // its job is in the queue by now (requestRender waits for the enqueue)
    const read = (key: string, id: string) => ok(url, key, RENDER, { id }).then((d) => d.node);
    const deadline = Date.now() + 240_000;
    while ((await read(small.key, smallRender)).status !== 'SUCCEEDED') {
      if (Date.now() > deadline) throw new Error("the small tenant's render never finished");
      await new Promise((r) => setTimeout(r, 200));
    }
    const done = await read(small.key, smallRender);
    const started = Date.parse(done.startedAt);
    const bigStarted = (await Promise.all(bigRenders.map(async (id) => (await read(big.key, id)).startedAt))).map((at) =>
      at === null ? Infinity : Date.parse(at),
    );
    // The small render takes the first slot that frees after it was requested: no render of the
    // big tenant's backlog starts in between (first come, first served, all 8 waiting did). One
    // may seem to: a job a worker took just before the request records its start a moment later.
    const overtaking = bigStarted.filter((at) => at > requested && at < started).length;
    expect(overtaking).toBeLessThanOrEqual(1);
    process.stdout.write(
      `${JSON.stringify({ backend: redis ? 'bullmq' : 'in-process', bigRendersQueued: 10, bigStartedWhileSmallWaited: overtaking, bigStartedBeforeSmall: bigStarted.filter((at) => at < started).length, smallQueueMs: Math.round(done.timings.queueMs) })}\n`,
    );
    // The rest of the big tenant's backlog is not needed: cancel it, so the server stops quickly.
    for (const id of bigRenders) await ok(url, big.key, `mutation($id: ID!) { cancelRender(id: $id) { userErrors { code } } }`, { id });
  });
});
