// A render's path beside the engine (issue 14): its inputs read in one transaction, timings
// that say where the time went (loadMs, referenceMs only for caches computed in the render,
// finishMs), and previews made only while someone watches with previews: true. On PGlite with
// the in-process queue and pub/sub, and on PostgreSQL with BullMQ and Redis pub/sub when
// TEST_DATABASE_URL and TEST_REDIS_URL are set.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderBackends, startTestServer, waitUntil, type TestServer } from '../support/server';
import { createGarment, createTenant, ok, uploadPersonPhoto, createOutfit } from '../support/graphql-client';
import { collect, wsClient } from '../support/graphql-ws';
import { projectRoot } from '../../src/common/project-paths';
import { fromGlobalId } from '../../src/common/ids';
import { decodeEvent, renderProgressChannel, type RenderEvent } from '../../src/renders/render-progress';
import type { AnswerData } from '../support/answers';

type RenderProgressAnswer = AnswerData['renderProgress'];

const MODEL_DIR = process.env.TEST_MODEL_DIR ?? 'models/tryon-tiny';
const samples = join(resolve(projectRoot, MODEL_DIR), 'samples');
const sampleIndex = JSON.parse(readFileSync(join(samples, 'index.json'), 'utf8')) as {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
};
const sample = (path: string) => `data:image/png;base64,${readFileSync(join(samples, path)).toString('base64')}`;
const garmentImage = (category: string) => sample(sampleIndex.garments.find((g) => g.category === category)!.image);

const REQUEST = `mutation($i: RequestRenderInput!) { requestRender(input: $i) { render { id status } userErrors { code field } } }`;
const PROGRESS = `subscription($id: ID!, $previews: Boolean) { renderProgress(renderId: $id, previews: $previews) { status step preview { url } } }`;
const TIMINGS = `query($id: ID!) { node(id: $id) { ... on Render { status timings { queueMs loadMs referenceMs denoiseMs decodeMs finishMs totalMs } } } }`;
const CANCEL = `mutation($id: ID!) { cancelRender(id: $id) { userErrors { code } } }`;

const backends = renderBackends();

describe.each(backends)('the render path on $kind (redis: $redis)', ({ kind, redis }) => {
  let server: TestServer;
  let url: string;
  let key: string;
  let tenantId: string;
  let garments: string[];
  let outfit: string;
  let photo: string;

  beforeAll(async () => {
    server = await startTestServer(
      kind,
      // One render at a time, so a render can be held QUEUED behind another.
      { ATELIER_MODEL_DIR: MODEL_DIR, ATELIER_RENDER_CONCURRENCY: '1', ...(redis ? { REDIS_URL: redis } : {}) },
      // A preview at every step the engine can make one for, when previews are wanted at all.
      {
        role: 'all',
        bullmq: { prefix: `atelier-test-${randomBytes(4).toString('hex')}` },
        sweeps: { intervalMs: 3_600_000 },
        previewIntervalMs: 0,
      },
    );
    url = server.url;
    const tenant = await createTenant(url, 'Render path', 10);
    key = tenant.adminKey;
    tenantId = fromGlobalId(tenant.id, 'Tenant')!;
    garments = [
      await createGarment(url, key, 'top', 'TOP', garmentImage('TOP')),
      await createGarment(url, key, 'bottom', 'BOTTOM', garmentImage('BOTTOM')),
      await createGarment(url, key, 'shoes', 'SHOES', garmentImage('SHOES')),
    ];
    photo = await uploadPersonPhoto(url, key, sample(sampleIndex.persons[0]!.image));
    outfit = await createOutfit(url, key, garments, 'look');
    // Every cache and the photo's encoding READY: the renders below are warm ones.
    await waitUntil(
      () => server.db.withSystem((tx) => tx.referenceCache.findMany()),
      (rows) => rows.length === 3 && rows.every((r) => r.status === 'READY'),
    );
    await waitUntil(
      () => server.db.withSystem((tx) => tx.personEncoding.findMany()),
      (rows) => rows.length === 1 && rows[0]!.status === 'READY',
    );
  });
  afterAll(() => server.stop());

  async function request(steps: number, seed = 1, outfitId = outfit): Promise<string> {
    const data = await ok(url, key, REQUEST, { i: { outfitId, personPhotoId: photo, steps, seed } });
    expect(data.requestRender.userErrors).toEqual([]);
    return data.requestRender.render.id;
  }

  async function watch(renderId: string, previews: boolean) {
    const client = wsClient(url, key);
    try {
      const result = await collect(client, PROGRESS, { id: renderId, previews });
      expect(result.completed).toBe(true);
      return result.events.map((e) => e.renderProgress);
    } finally {
      await client.dispose();
    }
  }

  /**
   * Every event published for a render, as the worker sent it (with the preview it made, if
   * any, whatever the subscriptions asked for): the render is held QUEUED behind a long one
   * until this listens, so nothing is missed.
   */
  async function publishedEvents(run: (renderId: string) => Promise<unknown>, steps: number): Promise<RenderEvent[]> {
    const blocker = await request(100, 9);
    await waitUntil(
      async () => (await ok(url, key, `query($id: ID!) { node(id: $id) { ... on Render { status } } }`, { id: blocker })).node.status,
      (s) => s === 'RUNNING',
    );
    const renderId = await request(steps);
    const events: RenderEvent[] = [];
    const stop = await server.pubsub.subscribe(renderProgressChannel(tenantId, fromGlobalId(renderId, 'Render')!).name, (message) =>
      events.push(decodeEvent(message)),
    );
    try {
      const running = run(renderId);
      await ok(url, key, CANCEL, { id: blocker });
      await running;
      await waitUntil(
        async () => events.some((e) => e.final),
        (v) => v,
        30_000,
      );
      return events;
    } finally {
      await stop();
    }
  }

  test('a warm render: its inputs in one transaction, referenceMs 0, loadMs and finishMs counted, the parts within totalMs', async () => {
    await watch(await request(3), false); // the ws connection's key is now in the authentication cache
    // Counted from before the request: the worker may take the render before the response arrives.
    const before = server.db.transactionCount;
    const statementsBefore = server.db.statementCount;
    const renderId = await request(2, 2);
    const events = await watch(renderId, false);
    expect(events[events.length - 1]).toMatchObject({ status: 'SUCCEEDED', step: 2 });
    // requestRender's outfit, photo and insert; the subscription's read of the render; the
    // worker's start with every input (outfit, garments, caches, photo, encoding: one
    // transaction of 4 statements), its progress at the first step, its finish, and the webhook
    // lookup: no per-table reads. (Before: 15 transactions, 8 of them to start the render; 51
    // statements, now 29.)
    expect(server.db.transactionCount - before).toBeLessThanOrEqual(9);
    expect(server.db.statementCount - statementsBefore).toBeLessThanOrEqual(32);

    const { timings } = (await ok(url, key, TIMINGS, { id: renderId })).node;
    expect(timings.referenceMs).toBe(0);
    for (const field of ['loadMs', 'denoiseMs', 'decodeMs', 'finishMs', 'totalMs'] as const) expect(timings[field]).toBeGreaterThan(0);
    const parts = timings.loadMs + timings.referenceMs + timings.denoiseMs + timings.decodeMs + timings.finishMs;
    // The parts follow one another: together no more than the whole (what is left over is the
    // hand-over to the engine thread), and most of it.
    expect(parts).toBeLessThanOrEqual(timings.totalMs + 0.01);
    expect(parts).toBeGreaterThan(timings.totalMs * 0.5);
  });

  test('a render that computes a cache counts it in referenceMs, not loadMs', async () => {
    const bag = await createGarment(url, key, 'bag', 'BAG', garmentImage('BAG'));
    const bagId = fromGlobalId(bag, 'Garment')!;
    await waitUntil(
      () => server.db.withSystem((tx) => tx.referenceCache.findMany({ where: { garmentId: bagId } })),
      (rows) => rows[0]?.status === 'READY',
    );
    // As after a new model version: the garment has no cache for the worker's model.
    await server.db.withSystem((tx) => tx.referenceCache.deleteMany({ where: { garmentId: bagId } }));
    const fourGarments = (
      await ok(url, key, `mutation($g: [ID!]!) { createOutfit(input: { name: "four", garmentIds: $g }) { outfit { id } } }`, {
        g: [...garments, bag],
      })
    ).createOutfit.outfit.id;
    const renderId = await request(3, 3, fourGarments);
    await watch(renderId, false);
    const { timings } = (await ok(url, key, TIMINGS, { id: renderId })).node;
    const [cache] = await server.db.withSystem((tx) => tx.referenceCache.findMany({ where: { garmentId: bagId } }));
    expect(cache).toMatchObject({ status: 'READY' });
    // The wall time of computing it, the engine's own share of which is computeMs.
    expect(timings.referenceMs).toBeGreaterThanOrEqual(cache!.computeMs!);
    expect(timings.referenceMs).toBeGreaterThan(0);
    expect(timings.loadMs + timings.referenceMs + timings.denoiseMs + timings.decodeMs + timings.finishMs).toBeLessThanOrEqual(
      timings.totalMs + 0.01,
    );
  });

  test('no previews are made while nobody watches with previews: true', async () => {
    let watched: RenderProgressAnswer[] = [];
    const events = await publishedEvents(async (renderId) => {
      watched = await watch(renderId, false);
    }, 12);
    expect(events.filter((e) => e.step > 0 && !e.final)).toHaveLength(12);
    expect(events.filter((e) => e.preview !== null)).toEqual([]);
    expect(watched.filter((e) => e.preview !== null)).toEqual([]);
  });

  test('previews are made, stored and sent while someone watches with previews: true', async () => {
    let watched: RenderProgressAnswer[] = [];
    const events = await publishedEvents(async (renderId) => {
      // A second subscription without previews on the same render gets none of them.
      const [withPreviews, without] = await Promise.all([watch(renderId, true), watch(renderId, false)]);
      watched = withPreviews;
      expect(without.filter((e) => e.preview !== null)).toEqual([]);
    }, 12);
    const published = events.filter((e) => e.preview !== null);
    expect(published.length).toBeGreaterThan(1);
    const received = watched.filter((e) => e.preview !== null);
    expect(received.length).toBe(published.length);
    // Each was stored before its event went out (the event names it); all are gone once the render ended.
    await waitUntil(
      async () => (await fetch(received[received.length - 1]!.preview.url)).status,
      (status) => status === 404,
    );
  });
});
