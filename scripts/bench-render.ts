/**
 * Benchmark of one render's path through the public API (not a test): how much of a warm
 * render's time is spent beside the engine. One in-process server on the embedded default
 * (role 'all': API plus worker with the engine in its thread, PGlite in a data directory,
 * in-process queue and pub/sub, file blob store), one tenant, an outfit of 3 garments whose
 * reference caches are READY, a person photo whose encoding is READY. Renders of 30 steps run
 * one after another, each requested over HTTP and watched to its end over graphql-ws
 * (renderProgress, previews: false); its timings are then read from the API.
 *
 *   overheadVsEngine = (totalMs - denoiseMs - decodeMs) / (denoiseMs + decodeMs), the median
 *   over the measured (warm) renders; overheadMsMedian: the median of totalMs - denoiseMs -
 *   decodeMs; *Median: each timing's median over them.
 *
 * Then, for reference (not in the medians): `watched`, renders watched with previews: true
 * (a preview at most every previewIntervalMs, 500 ms by default), and `cold`, the first render
 * of an outfit with a garment whose cache was never computed (referenceMs > 0).
 *
 * Human-readable lines first; the LAST line printed is one JSON object. Results:
 * docs/benchmarks-render.md.
 *
 *   npm run bench:render [-- --renders N] [--warmup N] [--steps N] [--model-dir DIR] [--memory]
 *     --memory  PGlite in memory instead of in the data directory
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { createLogger } from '../src/observability/logger';
import { projectRoot } from '../src/common/project-paths';
import { createGarment, createTenant, ok } from '../test/support/graphql-client';
import { collect, wsClient } from '../test/support/graphql-ws';
import { composeServer, localConfig, type ComposedServer } from '../test/support/server';
import { machineSummary, median, numberFlag, runBench, textOption, waitUntil } from './bench-support';

const args = process.argv.slice(2);
const MEASURED = numberFlag('--renders', 4);
const WARMUP = numberFlag('--warmup', 2);
const STEPS = numberFlag('--steps', 30);
const WATCHED = numberFlag('--watched', 2);
const IN_MEMORY = args.includes('--memory');
const MODEL_DIR = textOption('--model-dir', process.env.ATELIER_MODEL_DIR ?? 'models/tryon-tiny');
const GLOBAL_TIMEOUT_MS = numberFlag('--timeout', 300) * 1000;

const REQUEST = 'mutation($i: RequestRenderInput!) { requestRender(input: $i) { render { id status } userErrors { code message } } }';
const PROGRESS =
  'subscription($id: ID!, $previews: Boolean) { renderProgress(renderId: $id, previews: $previews) { status step preview { url } } }';

type Timings = Record<string, number | null>;

interface SampleIndex {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
}

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const overhead = (t: Timings): number => (t.totalMs! - t.denoiseMs! - t.decodeMs!) / (t.denoiseMs! + t.decodeMs!);
const rounded = (t: Timings): Timings => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v === null ? null : round(v)]));

const summary: Record<string, unknown> = {
  bench: 'render',
  ...machineSummary(),
  steps: STEPS,
  garments: 3,
  database: IN_MEMORY ? 'pglite (memory)' : 'pglite (data directory)',
};

const samplesDir = path.join(path.resolve(projectRoot, MODEL_DIR), 'samples');
const index = (): SampleIndex => JSON.parse(readFileSync(path.join(samplesDir, 'index.json'), 'utf8')) as SampleIndex;
const dataUrl = (file: string) => `data:image/png;base64,${readFileSync(path.join(samplesDir, file)).toString('base64')}`;
const garmentImage = (category: string, nth = 0) => dataUrl(index().garments.filter((g) => g.category === category)[nth]!.image);

async function createOutfit(url: string, key: string, name: string, garments: string[]): Promise<string> {
  const created = await ok<{ createOutfit: { outfit: { id: string } } }>(
    url,
    key,
    'mutation($g: [ID!]!, $n: String!) { createOutfit(input: { name: $n, garmentIds: $g }) { outfit { id } } }',
    { g: garments, n: name },
  );
  return created.createOutfit.outfit.id;
}

/** The bench's tenant: 3 garments with READY caches, a person photo whose encoding is READY, their outfit. */
async function setUpStore(srv: ComposedServer, url: string) {
  const key = (await createTenant(url, 'Bench', 10)).adminKey;
  const garments: string[] = [];
  for (const category of ['TOP', 'BOTTOM', 'SHOES'])
    garments.push(await createGarment(url, key, `bench-${category}`, category, garmentImage(category)));
  await waitUntil(
    async () =>
      (
        await ok<{ garments: { edges: { node: { referenceCache: { status: string } } }[] } }>(
          url,
          key,
          '{ garments { edges { node { referenceCache { status } } } } }',
        )
      ).garments.edges.map((e) => e.node.referenceCache.status),
    (statuses) => statuses.every((s) => s === 'READY'),
    120_000,
    'reference caches',
  );
  const photo = (
    await ok<{ uploadPersonPhoto: { personPhoto: { id: string } } }>(
      url,
      key,
      'mutation($d: String!) { uploadPersonPhoto(input: { image: { dataUrl: $d } }) { personPhoto { id } } }',
      { d: dataUrl(index().persons[0]!.image) },
    )
  ).uploadPersonPhoto.personPhoto.id;
  // The photo's encoding is not in the API: the bench runs in-process and looks at the row.
  await waitUntil(
    () => srv.db.withSystem((tx) => tx.personEncoding.findMany()),
    (rows) => rows.length === 1 && rows[0]!.status === 'READY',
    120_000,
    'person encoding',
  );
  return { key, garments, photo, outfit: await createOutfit(url, key, 'bench', garments) };
}

/** Renders requested over HTTP and watched to their end over graphql-ws, then their timings read from the API. */
class Renderer {
  private readonly client: Client;
  private readonly renderQuery: string;

  constructor(
    private readonly url: string,
    private readonly key: string,
    private readonly photo: string,
    /** Which timings this checkout's schema has (the bench also runs on older ones, to compare). */
    readonly fields: string[],
  ) {
    this.client = wsClient(url, key);
    this.renderQuery = `query($id: ID!) { node(id: $id) { ... on Render { status timings { ${fields.join(' ')} } } } }`;
  }

  async renderOnce(outfitId: string, previews: boolean, seed: number): Promise<{ timings: Timings; previews: number }> {
    const requested = await ok<{ requestRender: { render: { id: string }; userErrors: unknown[] } }>(this.url, this.key, REQUEST, {
      i: { outfitId, personPhotoId: this.photo, steps: STEPS, seed },
    });
    if (requested.requestRender.userErrors.length > 0) throw new Error(JSON.stringify(requested.requestRender.userErrors));
    const id = requested.requestRender.render.id;
    const watched = await collect<{ renderProgress: { preview: { url: string } | null } }>(this.client, PROGRESS, { id, previews });
    if (!watched.completed) throw new Error(`render ${id}: subscription ended with ${JSON.stringify(watched.errors)}`);
    const render = (await ok<{ node: { status: string; timings: Timings } }>(this.url, this.key, this.renderQuery, { id })).node;
    if (render.status !== 'SUCCEEDED') throw new Error(`render ${id} ended ${render.status}`);
    return { timings: render.timings, previews: watched.events.filter((e) => e.renderProgress.preview).length };
  }

  line(label: string, t: Timings, extra = ''): void {
    console.log(
      `${label}: ${this.fields.map((f) => `${f} ${t[f] === null || t[f] === undefined ? '-' : round(t[f]!)}`).join(', ')}; overhead ${round(overhead(t), 3)}${extra}`,
    );
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

/** The warm renders: WARMUP unmeasured, then MEASURED whose medians are the bench's result. */
async function measureWarm(renderer: Renderer, outfit: string): Promise<void> {
  for (let i = 0; i < WARMUP; i += 1) renderer.line(`warm-up ${i + 1}`, (await renderer.renderOnce(outfit, false, 100 + i)).timings);
  const measured: Timings[] = [];
  for (let i = 0; i < MEASURED; i += 1) {
    const { timings } = await renderer.renderOnce(outfit, false, 200 + i);
    measured.push(timings);
    renderer.line(`render ${i + 1}`, timings);
  }
  const medianOf = (field: string) => (renderer.fields.includes(field) ? round(median(measured.map((t) => t[field] ?? 0))) : null);
  summary.overheadVsEngine = round(median(measured.map(overhead)), 3);
  // The same in ms: on a shared machine the engine's time swings more than what is beside it.
  summary.overheadMsMedian = round(median(measured.map((t) => t.totalMs! - t.denoiseMs! - t.decodeMs!)));
  for (const field of ['totalMs', 'queueMs', 'loadMs', 'referenceMs', 'denoiseMs', 'decodeMs', 'finishMs'])
    summary[`${field}Median`] = medianOf(field);
  summary.renders = measured.map(rounded);
}

/** For reference: renders watched with previews. */
async function measureWatched(renderer: Renderer, outfit: string): Promise<void> {
  const watched: { overhead: number; previews: number }[] = [];
  for (let i = 0; i < WATCHED; i += 1) {
    const result = await renderer.renderOnce(outfit, true, 300 + i);
    watched.push({ overhead: round(overhead(result.timings), 3), previews: result.previews });
    renderer.line(`watched with previews ${i + 1}`, result.timings, `; ${result.previews} previews`);
  }
  summary.watchedWithPreviews = watched;
}

/** For reference: a first render with a cache computed in it (a fourth garment whose cache is dropped first). */
async function measureCold(srv: ComposedServer, url: string, key: string, renderer: Renderer, garments: string[]): Promise<void> {
  const bag = await createGarment(url, key, 'bench-BAG', 'BAG', garmentImage('BAG'));
  await waitUntil(
    () => srv.db.withSystem((tx) => tx.referenceCache.findMany({ where: { status: 'READY' } })),
    (rows) => rows.length === 4,
    120_000,
    'bag cache',
  );
  await srv.db.withSystem((tx) => tx.referenceCache.deleteMany({ where: { garment: { sku: 'bench-BAG' } } }));
  const fourGarments = await createOutfit(url, key, 'cold', [...garments, bag]);
  const cold = await renderer.renderOnce(fourGarments, false, 400);
  renderer.line('cold (4 garments, 1 cache computed in the render)', cold.timings);
  summary.cold = rounded(cold.timings);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'atelier-bench-render-'));
  let server: ComposedServer | null = null;
  try {
    const config = localConfig(dataDir, {
      ATELIER_MODEL_DIR: MODEL_DIR,
      ATELIER_WORKER_THREADS: process.env.ATELIER_WORKER_THREADS,
      ATELIER_ENGINE_NICE: process.env.ATELIER_ENGINE_NICE,
    });
    server = await composeServer(config, {
      role: 'all',
      database: { kind: 'embedded', dataDir: IN_MEMORY ? null : path.join(dataDir, 'db') },
      logger: createLogger('silent'),
      sweeps: { intervalMs: 3_600_000 },
    });
    const url = `http://127.0.0.1:${server.port}`;
    summary.model = server.engine?.model.id;
    const typeFields = await ok<{ __type: { fields: { name: string }[] } }>(
      url,
      null,
      '{ __type(name: "RenderTimings") { fields { name } } }',
    );
    const { key, garments, photo, outfit } = await setUpStore(server, url);
    const renderer = new Renderer(
      url,
      key,
      photo,
      typeFields.__type.fields.map((f) => f.name),
    );
    await measureWarm(renderer, outfit);
    await measureWatched(renderer, outfit);
    await measureCold(server, url, key, renderer, garments);
    await renderer.close();
  } finally {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main, summary, GLOBAL_TIMEOUT_MS);
