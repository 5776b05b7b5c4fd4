// Renders end to end with the real model package: caches computed on garment creation,
// requestRender's rules, live progress over graphql-ws, cancellation, retention, and the
// sweep that finds renders whose job was lost. On PGlite with the in-process queue, and on
// PostgreSQL with BullMQ and Redis pub/sub when TEST_DATABASE_URL and TEST_REDIS_URL are set.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { renderBackends, startTestServer, waitUntil, type TestServer } from '../support/server';
import { createGarment, createShopperSession, createTenant, ok, uploadPersonPhoto, createOutfit } from '../support/graphql-client';
import { collect, wsClient } from '../support/graphql-ws';
import { projectRoot } from '../../src/common/project-paths';
import { toGlobalId } from '../../src/common/ids';

const MODEL_DIR = process.env.TEST_MODEL_DIR ?? 'models/tryon-tiny';
const samples = join(resolve(projectRoot, MODEL_DIR), 'samples');
const sampleIndex = JSON.parse(readFileSync(join(samples, 'index.json'), 'utf8')) as {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
};
const sample = (path: string) => `data:image/png;base64,${readFileSync(join(samples, path)).toString('base64')}`;
const garmentImage = (category: string) => sample(sampleIndex.garments.find((g) => g.category === category)!.image);

const PROGRESS = `subscription($id: ID!, $previews: Boolean) { renderProgress(renderId: $id, previews: $previews) {
  status step totalSteps etaMs preview { url width height } render { id status completedSteps } } }`;
const REQUEST = `mutation($i: RequestRenderInput!) { requestRender(input: $i) { render { id status steps seed guidanceScale model } userErrors { code field } } }`;
const RENDER = `query($id: ID!) { node(id: $id) { ... on Render { id status steps completedSteps attempts seed resultExpired
  result { url width height contentType } error { code message } timings { queueMs referenceMs denoiseMs decodeMs totalMs } startedAt finishedAt } } }`;

const backends = renderBackends();

describe.each(backends)('renders on $kind (redis: $redis)', ({ kind, redis }) => {
  let server: TestServer;
  let url: string;
  let key: string;
  let outfit: string;
  let photo: string;
  let garments: string[];

  beforeAll(async () => {
    server = await startTestServer(
      kind,
      { ATELIER_MODEL_DIR: MODEL_DIR, ...(redis ? { REDIS_URL: redis } : {}) },
      // A preview on every step the engine can make one for (500 ms apart by default).
      {
        role: 'all',
        bullmq: { prefix: `atelier-test-${randomBytes(4).toString('hex')}` },
        sweeps: { intervalMs: 3_600_000 },
        previewIntervalMs: 0,
      },
    );
    url = server.url;
    key = (await createTenant(url, 'Renders')).adminKey;
    await ok(url, key, `mutation { createShopper(input: { externalId: "s" }) { shopper { id } } }`);
    garments = [
      await createGarment(url, key, 'top', 'TOP', garmentImage('TOP')),
      await createGarment(url, key, 'bottom', 'BOTTOM', garmentImage('BOTTOM')),
    ];
    photo = await uploadPersonPhoto(url, key, sample(sampleIndex.persons[0]!.image));
    outfit = await createOutfit(url, key, garments, 'look');
  });
  afterAll(() => server.stop());

  test("a new garment's reference cache becomes READY with its size and time", async () => {
    const caches = await waitUntil(
      async () =>
        (
          await ok(url, key, `{ garments { edges { node { referenceCache { status bytes computeMs model error } } } } }`)
        ).garments.edges.map((e) => e.node.referenceCache),
      (list) => list.every((c) => c.status !== 'PENDING'),
    );
    for (const cache of caches) {
      expect(cache).toMatchObject({ status: 'READY', model: server.engine!.model.id, error: null });
      expect(cache.bytes).toBeGreaterThan(1000);
      expect(cache.computeMs).toBeGreaterThan(0);
    }
  });

  test('a render streams its current state, every step and its final state, then completes', async () => {
    // Enough steps for several previews: each rides on the first step event after it is stored.
    const requested = await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 16, seed: 42 } });
    expect(requested.requestRender.userErrors).toEqual([]);
    const render = requested.requestRender.render;
    expect(render).toMatchObject({ status: 'QUEUED', steps: 16, seed: 42, guidanceScale: 2.5 });
    const client = wsClient(url, key);
    const result = await collect(client, PROGRESS, { id: render.id, previews: true });
    await client.dispose();
    expect(result.errors).toBeUndefined();
    expect(result.completed).toBe(true);
    const events = result.events.map((e) => e.renderProgress);
    expect(events[events.length - 1]).toMatchObject({ status: 'SUCCEEDED', step: 16, totalSteps: 16 });
    // every step arrives, in order, after the initial state
    const steps = events.filter((e) => e.status === 'RUNNING' && e.step > 0).map((e) => e.step);
    expect(steps).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1).filter((s) => s > (events[0]!.status === 'RUNNING' ? events[0]!.step : 0)),
    );
    const withPreview = events.filter((e) => e.preview);
    expect(withPreview.length).toBeGreaterThan(1);
    // Each preview has its own URL (one URL would be cached by browsers), and once the render
    // has ended its previews are deleted.
    const previewUrls = withPreview.map((e) => e.preview.url);
    expect(new Set(previewUrls).size).toBe(previewUrls.length);
    expect(withPreview.every((e) => e.preview.width > 0 && e.preview.height > 0)).toBe(true);
    await waitUntil(
      async () => (await fetch(previewUrls[previewUrls.length - 1]!)).status,
      (status) => status === 404,
    );

    const done = (await ok(url, key, RENDER, { id: render.id })).node;
    expect(done).toMatchObject({ status: 'SUCCEEDED', completedSteps: 16, attempts: 1, resultExpired: false, error: null });
    for (const field of ['queueMs', 'referenceMs', 'denoiseMs', 'decodeMs', 'totalMs'] as const)
      expect(done.timings[field]).toBeGreaterThanOrEqual(0);
    const image = await fetch(done.result.url);
    expect(image.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([done.result.width, done.result.height]);
  });

  test('previews only when asked; a finished render sends its final state and completes', async () => {
    const { render } = (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 3, seed: 1 } })).requestRender;
    const client = wsClient(url, key);
    const live = await collect(client, PROGRESS, { id: render.id, previews: false });
    expect(live.events.every((e) => e.renderProgress.preview === null)).toBe(true);
    const late = await collect(client, PROGRESS, { id: render.id });
    await client.dispose();
    expect(late.completed).toBe(true);
    expect(late.events).toHaveLength(1);
    expect(late.events[0]!.renderProgress).toMatchObject({
      status: 'SUCCEEDED',
      step: 3,
      render: { status: 'SUCCEEDED', completedSteps: 3 },
    });
  });

  test('the same seed and inputs give the same image', async () => {
    const a = (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 3, seed: 7 } })).requestRender.render.id;
    const b = (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 3, seed: 7 } })).requestRender.render.id;
    const results = await Promise.all(
      [a, b].map((id) =>
        waitUntil(
          async () => (await ok(url, key, RENDER, { id })).node,
          (n) => n.status === 'SUCCEEDED',
        ),
      ),
    );
    const bytes = await Promise.all(results.map(async (r) => Buffer.from(await (await fetch(r.result.url)).arrayBuffer())));
    expect(bytes[0]!.equals(bytes[1]!)).toBe(true);
  });

  test('cancelRender stops a running render within a step', async () => {
    const { render } = (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 100 } })).requestRender;
    const client = wsClient(url, key);
    let canceled = false;
    const result = await collect(client, PROGRESS, { id: render.id }, (event) => {
      if (!canceled && event.renderProgress.step >= 2) {
        canceled = true;
        void ok(url, key, `mutation($id: ID!) { cancelRender(id: $id) { render { status } userErrors { code } } }`, { id: render.id });
      }
    });
    await client.dispose();
    const last = result.events[result.events.length - 1]!.renderProgress;
    expect(last.status).toBe('CANCELED');
    const after = (await ok(url, key, RENDER, { id: render.id })).node;
    expect(after.status).toBe('CANCELED');
    expect(after.completedSteps).toBeLessThan(100);
    const again = await ok(url, key, `mutation($id: ID!) { cancelRender(id: $id) { render { status } userErrors { code } } }`, {
      id: render.id,
    });
    expect(again.cancelRender.userErrors[0]!.code).toBe('RENDER_FINISHED');
  });

  test('requestRender userErrors: ranges and unknown ids', async () => {
    const codes = async (extra: object) =>
      (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, ...extra } })).requestRender.userErrors.map(
        (e) => `${e.code}:${e.field.at(-1)}`,
      );
    expect(await codes({ steps: 0 })).toEqual(['OUT_OF_RANGE:steps']);
    expect(await codes({ steps: 101 })).toEqual(['OUT_OF_RANGE:steps']);
    expect(await codes({ guidanceScale: -0.1 })).toEqual(['OUT_OF_RANGE:guidanceScale']);
    expect(await codes({ guidanceScale: 10.5 })).toEqual(['OUT_OF_RANGE:guidanceScale']);
    expect(await codes({ outfitId: photo })).toEqual(['NOT_FOUND:outfitId']);
    expect(await codes({ personPhotoId: 'nope' })).toEqual(['NOT_FOUND:personPhotoId']);
  });

  test('idempotency key returns the first render; the quota refuses more than maxConcurrentRenders', async () => {
    const tenant = await ok(
      url,
      'test-operator-token-0123456789',
      `mutation { createTenant(input: { name: "Quota", maxConcurrentRenders: 1 }) { apiKey } }`,
    );
    const qKey = tenant.createTenant.apiKey;
    const g = await createGarment(url, qKey, 'q', 'TOP', garmentImage('TOP'));
    const p = await uploadPersonPhoto(url, qKey, sample(sampleIndex.persons[0]!.image));
    const o = (await ok(url, qKey, `mutation($g: ID!) { createOutfit(input: { name: "q", garmentIds: [$g] }) { outfit { id } } }`, { g }))
      .createOutfit.outfit.id;
    const first = (await ok(url, qKey, REQUEST, { i: { outfitId: o, personPhotoId: p, steps: 30, idempotencyKey: 'k1' } })).requestRender;
    const repeat = (await ok(url, qKey, REQUEST, { i: { outfitId: o, personPhotoId: p, steps: 30, idempotencyKey: 'k1' } })).requestRender;
    expect(repeat.render.id).toBe(first.render.id);
    const over = (await ok(url, qKey, REQUEST, { i: { outfitId: o, personPhotoId: p, steps: 30, idempotencyKey: 'k2' } })).requestRender;
    expect(over).toEqual({ render: null, userErrors: [{ code: 'CONCURRENCY_LIMIT', field: null }] });
    await waitUntil(
      async () => (await ok(url, qKey, RENDER, { id: first.render.id })).node,
      (n) => n.status === 'SUCCEEDED',
      120_000,
    );
    const now = (await ok(url, qKey, REQUEST, { i: { outfitId: o, personPhotoId: p, steps: 1, idempotencyKey: 'k2' } })).requestRender;
    expect(now.userErrors).toEqual([]);
  });

  test('subscription authorization: another tenant and another shopper get NOT_FOUND', async () => {
    const { render } = (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 1 } })).requestRender;
    const other = await createTenant(url, 'Other');
    const shopper = await createShopperSession(url, key, `stranger-${Date.now()}`);
    for (const token of [other.adminKey, shopper.token]) {
      const client = wsClient(url, token);
      const result = await collect(client, PROGRESS, { id: render.id });
      await client.dispose();
      expect(result.events).toEqual([]);
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });

  test("retention: results past the tenant's hours are deleted, metadata kept", async () => {
    const { render } = (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps: 1 } })).requestRender;
    const done = await waitUntil(
      async () => (await ok(url, key, RENDER, { id: render.id })).node,
      (n) => n.status === 'SUCCEEDED',
    );
    expect((await fetch(done.result.url)).status).toBe(200);
    expect(await server.sweeps!.deleteExpiredResults(new Date(Date.now() + 71 * 3600_000))).toBe(0);
    expect(await server.sweeps!.deleteExpiredResults(new Date(Date.now() + 73 * 3600_000))).toBeGreaterThanOrEqual(1);
    const after = (await ok(url, key, RENDER, { id: render.id })).node;
    expect(after).toMatchObject({ status: 'SUCCEEDED', result: null, resultExpired: true });
    expect((await fetch(done.result.url)).status).toBe(404);
  });

  test('a render whose job was lost is found by the sweep and completes', async () => {
    // Write a QUEUED render without enqueueing it (an enqueue that failed after the row was written).
    const tenantId = (await server.db.withSystem((tx) => tx.tenant.findFirstOrThrow({ where: { name: 'Renders' } }))).id;
    const [o] = await server.db.withTenant(tenantId, (tx) => tx.outfit.findMany({ take: 1 }));
    const [p] = await server.db.withTenant(tenantId, (tx) => tx.personPhoto.findMany({ take: 1 }));
    const id = randomUUID();
    await server.db.withTenant(tenantId, (tx) =>
      tx.render.create({
        data: {
          id,
          tenantId,
          outfitId: o!.id,
          personPhotoId: p!.id,
          model: server.engine!.model.id,
          steps: 2,
          guidanceScale: 2.5,
          seed: 3,
          createdAt: new Date(Date.now() - 60_000),
        },
      }),
    );
    expect(await server.sweeps!.requeueStale(new Date(Date.now() - 30_000), new Date(Date.now() - 60_000))).toBeGreaterThanOrEqual(1);
    const done = await waitUntil(
      async () => (await ok(url, key, RENDER, { id: toGlobalId('Render', id) })).node,
      (n) => n.status === 'SUCCEEDED',
    );
    expect(done.completedSteps).toBe(2);
  });
});
