// The worker keeps decoded reference caches and person encodings in the engine's memory: the
// second render of an outfit reads no cache or encoding blob and decodes nothing (the engine
// reads blobs only through the worker's loaders, and counts each read as a miss); archiving a
// garment drops its K/V, and deleting a photo its encoding, from every worker (over Redis
// pub/sub when scaled out). Real server,
// real model package.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderBackends, startTestServer, waitUntil, type TestServer } from '../support/server';
import { createGarment, createTenant, ok, uploadPersonPhoto, createOutfit } from '../support/graphql-client';
import { projectRoot } from '../../src/common/project-paths';

const MODEL_DIR = process.env.TEST_MODEL_DIR ?? 'models/tryon-tiny';
const samples = join(resolve(projectRoot, MODEL_DIR), 'samples');
const sampleIndex = JSON.parse(readFileSync(join(samples, 'index.json'), 'utf8')) as {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
};
const sample = (path: string) => `data:image/png;base64,${readFileSync(join(samples, path)).toString('base64')}`;
const garmentImage = (category: string) => sample(sampleIndex.garments.find((g) => g.category === category)!.image);

const REQUEST = `mutation($i: RequestRenderInput!) { requestRender(input: $i) { render { id } userErrors { code } } }`;
const STATUS = `query($id: ID!) { node(id: $id) { ... on Render { status error { code message } } } }`;

const backends = renderBackends();

describe.each(backends)('hot caches in the worker on $kind (redis: $redis)', ({ kind, redis }) => {
  let server: TestServer;
  let url: string;
  let key: string;
  let outfit: string;
  let photo: string;
  let garments: string[];

  const render = async (): Promise<void> => {
    const { requestRender } = await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 2, seed: 5 } });
    expect(requestRender.userErrors).toEqual([]);
    const done = await waitUntil(
      async () => (await ok(url, key, STATUS, { id: requestRender.render.id })).node,
      (node: { status: string }) => node.status === 'SUCCEEDED' || node.status === 'FAILED',
    );
    expect(done).toMatchObject({ status: 'SUCCEEDED' });
  };

  beforeAll(async () => {
    server = await startTestServer(
      kind,
      { ATELIER_MODEL_DIR: MODEL_DIR, ATELIER_REFERENCE_CACHE_MB: '64', ...(redis ? { REDIS_URL: redis } : {}) },
      { role: 'all', bullmq: { prefix: `atelier-test-${randomBytes(4).toString('hex')}` }, sweeps: { intervalMs: 3_600_000 } },
    );
    url = server.url;
    key = (await createTenant(url, 'Hot caches')).adminKey;
    await ok(url, key, `mutation { createShopper(input: { externalId: "s" }) { shopper { id } } }`);
    garments = [
      await createGarment(url, key, 'top', 'TOP', garmentImage('TOP')),
      await createGarment(url, key, 'bottom', 'BOTTOM', garmentImage('BOTTOM')),
    ];
    photo = await uploadPersonPhoto(url, key, sample(sampleIndex.persons[0]!.image));
    outfit = await createOutfit(url, key, garments, 'look');
    await waitUntil(
      async () =>
        (await ok(url, key, `{ garments { edges { node { referenceCache { status } } } } }`)).garments.edges.map(
          (e) => e.node.referenceCache?.status,
        ),
      (statuses: string[]) => statuses.every((s) => s === 'READY'),
    );
  });
  afterAll(() => server.stop());

  test('the configured budget reaches the engine', async () => {
    expect((await server.engine!.hotCacheStats()).maxBytes).toBe(64 * 1024 * 1024);
  });

  test('a second render of the same outfit and photo reads no blob and decodes nothing', async () => {
    await render();
    const afterFirst = await server.engine!.hotCacheStats();
    expect(afterFirst.entries).toBeGreaterThanOrEqual(3); // two garments and the photo's encoding
    await render();
    const afterSecond = await server.engine!.hotCacheStats();
    expect(afterSecond.misses).toBe(afterFirst.misses);
    expect(afterSecond.hits - afterFirst.hits).toBe(3);
  });

  test('the worker keeps the photo it read: a further render reads no photo blob (it renders with the stored image gone)', async () => {
    const tenantPhotos = join(server.dataDir, 'blobs', 'photos');
    const stored = readdirSync(tenantPhotos, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(stored).toHaveLength(1);
    const file = join(stored[0]!.parentPath, stored[0]!.name);
    const bytes = readFileSync(file);
    rmSync(file);
    try {
      await render();
    } finally {
      writeFileSync(file, bytes);
    }
  });

  test("archiving a garment drops its K/V from the worker; the outfit's next render reads that cache again", async () => {
    const before = await server.engine!.hotCacheStats();
    const archived = await ok(url, key, `mutation($id: ID!) { archiveGarment(id: $id) { garment { id } userErrors { code } } }`, {
      id: garments[0],
    });
    expect(archived.archiveGarment.userErrors).toEqual([]);
    const after = await waitUntil(
      () => server.engine!.hotCacheStats(),
      (stats) => stats.invalidations > before.invalidations,
      10_000,
    );
    expect(after.entries).toBe(before.entries - 1);
    // An outfit that already holds the garment still renders; the cache is read once more.
    await render();
    expect((await server.engine!.hotCacheStats()).misses - after.misses).toBe(1);
  });

  test('deleting the photo drops its encoding from the worker', async () => {
    const before = await server.engine!.hotCacheStats();
    const deleted = await ok(url, key, `mutation($id: ID!) { deletePersonPhoto(id: $id) { deletedPersonPhotoId userErrors { code } } }`, {
      id: photo,
    });
    expect(deleted.deletePersonPhoto.userErrors).toEqual([]);
    const after = await waitUntil(
      () => server.engine!.hotCacheStats(),
      (stats) => stats.invalidations > before.invalidations,
      10_000,
    );
    expect(after.entries).toBe(before.entries - 1);
  });
});
