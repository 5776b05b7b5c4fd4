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
import { createLogger } from '../src/observability/logger';
import { projectRoot } from '../src/common/project-paths';
import { createGarment, createTenant, ok } from '../test/support/graphql-client';
import { collect, wsClient } from '../test/support/graphql-ws';
import { composeServer, localConfig, type ComposedServer } from '../test/support/server';
import { machineSummary, median, numberFlag, runBench, textOption } from './bench-support';

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

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const overhead = (t: Timings): number => (t.totalMs! - t.denoiseMs! - t.decodeMs!) / (t.denoiseMs! + t.decodeMs!);

const summary: Record<string, unknown> = {
  bench: 'render',
  ...machineSummary(),
  steps: STEPS,
  garments: 3,
  database: IN_MEMORY ? 'pglite (memory)' : 'pglite (data directory)',
};

async function waitUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
    const srv = server;
    const url = `http://127.0.0.1:${srv.port}`;
    summary.model = srv.engine?.model.id;

    // Which timings this checkout's schema has (the bench also runs on older ones, to compare).
    const fields = (await ok(url, null, '{ __type(name: "RenderTimings") { fields { name } } }')).__type.fields.map(
      (f: { name: string }) => f.name,
    ) as string[];
    const RENDER = `query($id: ID!) { node(id: $id) { ... on Render { status timings { ${fields.join(' ')} } } } }`;

    const samples = path.join(path.resolve(projectRoot, MODEL_DIR), 'samples');
    const index = JSON.parse(readFileSync(path.join(samples, 'index.json'), 'utf8')) as {
      persons: { image: string }[];
      garments: { category: string; image: string }[];
    };
    const dataUrl = (file: string) => `data:image/png;base64,${readFileSync(path.join(samples, file)).toString('base64')}`;
    const garmentImage = (category: string, nth = 0) => dataUrl(index.garments.filter((g) => g.category === category)[nth]!.image);

    const key = (await createTenant(url, 'Bench', 10)).adminKey;
    const garments: string[] = [];
    for (const category of ['TOP', 'BOTTOM', 'SHOES'])
      garments.push(await createGarment(url, key, `bench-${category}`, category, garmentImage(category)));
    await waitUntil(
      async () =>
        (await ok(url, key, '{ garments { edges { node { referenceCache { status } } } } }')).garments.edges.map(
          (e: any) => e.node.referenceCache.status,
        ) as string[],
      (statuses) => statuses.every((s) => s === 'READY'),
      'reference caches',
    );
    const photo = (
      await ok(url, key, 'mutation($d: String!) { uploadPersonPhoto(input: { image: { dataUrl: $d } }) { personPhoto { id } } }', {
        d: dataUrl(index.persons[0]!.image),
      })
    ).uploadPersonPhoto.personPhoto.id as string;
    // The photo's encoding is not in the API: the bench runs in-process and looks at the row.
    await waitUntil(
      () => srv.db.withSystem((tx) => tx.personEncoding.findMany()),
      (rows) => rows.length === 1 && rows[0]!.status === 'READY',
      'person encoding',
    );
    const outfit = (
      await ok(url, key, 'mutation($g: [ID!]!) { createOutfit(input: { name: "bench", garmentIds: $g }) { outfit { id } } }', {
        g: garments,
      })
    ).createOutfit.outfit.id as string;

    const client = wsClient(url, key);
    const renderOnce = async (outfitId: string, previews: boolean, seed: number): Promise<{ timings: Timings; previews: number }> => {
      const requested = await ok(url, key, REQUEST, { i: { outfitId, personPhotoId: photo, steps: STEPS, seed } });
      if (requested.requestRender.userErrors.length > 0) throw new Error(JSON.stringify(requested.requestRender.userErrors));
      const id = requested.requestRender.render.id as string;
      const watched = await collect<any>(client, PROGRESS, { id, previews });
      if (!watched.completed) throw new Error(`render ${id}: subscription ended with ${JSON.stringify(watched.errors)}`);
      const render = (await ok(url, key, RENDER, { id })).node;
      if (render.status !== 'SUCCEEDED') throw new Error(`render ${id} ended ${render.status}`);
      return { timings: render.timings as Timings, previews: watched.events.filter((e) => e.renderProgress.preview).length };
    };
    const line = (label: string, t: Timings, extra = '') =>
      console.log(
        `${label}: ${fields.map((f) => `${f} ${t[f] === null || t[f] === undefined ? '-' : round(t[f]!)}`).join(', ')}; overhead ${round(overhead(t), 3)}${extra}`,
      );

    for (let i = 0; i < WARMUP; i += 1) line(`warm-up ${i + 1}`, (await renderOnce(outfit, false, 100 + i)).timings);
    const measured: Timings[] = [];
    for (let i = 0; i < MEASURED; i += 1) {
      const { timings } = await renderOnce(outfit, false, 200 + i);
      measured.push(timings);
      line(`render ${i + 1}`, timings);
    }
    const medianOf = (field: string) => (fields.includes(field) ? round(median(measured.map((t) => t[field] ?? 0))) : null);
    summary.overheadVsEngine = round(median(measured.map(overhead)), 3);
    // The same in ms: on a shared machine the engine's time swings more than what is beside it.
    summary.overheadMsMedian = round(median(measured.map((t) => t.totalMs! - t.denoiseMs! - t.decodeMs!)));
    for (const field of ['totalMs', 'queueMs', 'loadMs', 'referenceMs', 'denoiseMs', 'decodeMs', 'finishMs'])
      summary[`${field}Median`] = medianOf(field);
    summary.renders = measured.map((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v === null ? null : round(v)])));

    // For reference: watched with previews, and a first render with a cache computed in it.
    const watched: { overhead: number; previews: number }[] = [];
    for (let i = 0; i < WATCHED; i += 1) {
      const result = await renderOnce(outfit, true, 300 + i);
      watched.push({ overhead: round(overhead(result.timings), 3), previews: result.previews });
      line(`watched with previews ${i + 1}`, result.timings, `; ${result.previews} previews`);
    }
    summary.watchedWithPreviews = watched;
    // A fourth garment whose cache is dropped first, so this render computes it.
    const bag = await createGarment(url, key, 'bench-BAG', 'BAG', garmentImage('BAG'));
    await waitUntil(
      () => srv.db.withSystem((tx) => tx.referenceCache.findMany({ where: { status: 'READY' } })),
      (rows) => rows.length === 4,
      'bag cache',
    );
    await srv.db.withSystem((tx) => tx.referenceCache.deleteMany({ where: { garment: { sku: 'bench-BAG' } } }));
    const fourGarments = (
      await ok(url, key, 'mutation($g: [ID!]!) { createOutfit(input: { name: "cold", garmentIds: $g }) { outfit { id } } }', {
        g: [...garments, bag],
      })
    ).createOutfit.outfit.id as string;
    const cold = await renderOnce(fourGarments, false, 400);
    line('cold (4 garments, 1 cache computed in the render)', cold.timings);
    summary.cold = Object.fromEntries(Object.entries(cold.timings).map(([k, v]) => [k, v === null ? null : round(v)]));
    await client.dispose();
  } finally {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main, summary, GLOBAL_TIMEOUT_MS);
