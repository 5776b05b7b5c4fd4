// bench:api's set-up: a tenant with 50 garments whose reference caches are READY, a person photo
// and an outfit; and the instrumentation of the engine's steps (when the server thread gets each).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ComposedServer } from '../../test/support/server';
import { projectRoot } from '../../src/common/project-paths';
import { fromGlobalId } from '../../src/common/ids';
import { createGarment, ok, OPERATOR } from '../../test/support/graphql-client';
import { log, waitUntil } from '../bench-support';
import { okRetry } from './retry';
import { BLOCKERS_PER_SLOT, GARMENTS, GARMENTS_PAGE, MODEL_DIR, REQUEST, STATUS, type BenchSummary } from './settings';

/** The bench's tenant on one server: its API key, and renders of its one outfit. */
export interface BenchStore {
  url: string;
  key: string;
  tenantId: string;
  requestRender(steps: number): Promise<string>;
  renderStatus(id: string): Promise<{ status: string; completedSteps: number }>;
  /** When the server thread received each engine step, by `${seed}:${step}` (ms). */
  stepReceivedAt: Map<string, number>;
}

interface SampleIndex {
  persons: { image: string }[];
  garments: { category: string; image: string }[];
}

interface PageGarment {
  id: string;
  category: string;
  referenceCache: { status: string } | null;
}

const samplesDir = () => path.join(path.resolve(projectRoot, MODEL_DIR), 'samples');
const sample = (p: string) => `data:image/png;base64,${readFileSync(path.join(samplesDir(), p)).toString('base64')}`;

async function createBenchTenant(url: string, renderConcurrency: number): Promise<{ tenantId: string; key: string }> {
  // Enough concurrent renders for the fanout set-up (the worker's slots plus the target).
  const created = await ok<{ createTenant: { tenant: { id: string }; apiKey: string } }>(
    url,
    OPERATOR,
    'mutation($n: String!, $m: Int) { createTenant(input: { name: $n, maxConcurrentRenders: $m }) { tenant { id } apiKey userErrors { code } } }',
    { n: 'Bench', m: BLOCKERS_PER_SLOT * renderConcurrency + 2 },
  );
  const tenantId = fromGlobalId(created.createTenant.tenant.id, 'Tenant') ?? created.createTenant.tenant.id;
  return { tenantId, key: created.createTenant.apiKey };
}

/** 50 garments of the model's samples, once none of their caches is PENDING: the page the load phases read. */
async function createGarments(url: string, key: string, index: SampleIndex, summary: BenchSummary): Promise<PageGarment[]> {
  const images = index.garments.map((g) => ({ category: g.category, image: sample(g.image) }));
  const t = Date.now();
  for (let i = 0; i < GARMENTS; i += 1) {
    const g = images[i % images.length]!;
    await createGarment(url, key, `sku-${i}`, g.category, g.image);
  }
  const page = await waitUntil(
    async () => (await ok<{ garments: { edges: { node: PageGarment }[] } }>(url, key, GARMENTS_PAGE)).garments.edges.map((e) => e.node),
    (nodes) => nodes.length === GARMENTS && nodes.every((n) => n.referenceCache?.status !== 'PENDING'),
    120_000,
    'reference caches',
  );
  const ready = page.filter((n) => n.referenceCache?.status === 'READY').length;
  const responseBytes = Buffer.byteLength(JSON.stringify({ data: { garments: { edges: page.map((node) => ({ node })) } } }));
  log(`${GARMENTS} garments created, ${ready} caches READY in ${Date.now() - t} ms; page response ~${responseBytes} bytes`);
  summary.garmentsReady = ready;
  summary.pageBytes = responseBytes;
  return page;
}

/** A person photo and an outfit of a top, a bottom and shoes from the page. */
async function createLook(url: string, key: string, index: SampleIndex, page: PageGarment[]): Promise<{ photo: string; outfit: string }> {
  const photo = (
    await ok<{ uploadPersonPhoto: { personPhoto: { id: string } } }>(
      url,
      key,
      'mutation($d: String!) { uploadPersonPhoto(input: { image: { dataUrl: $d } }) { personPhoto { id } } }',
      { d: sample(index.persons[0]!.image) },
    )
  ).uploadPersonPhoto.personPhoto.id;
  const outfitGarments = ['TOP', 'BOTTOM', 'SHOES'].map((c) => page.find((n) => n.category === c)?.id).filter(Boolean) as string[];
  const createdOutfit = (
    await ok<{ createOutfit: { outfit: { id: string } | null; userErrors: unknown[] } }>(
      url,
      key,
      'mutation($g: [ID!]!) { createOutfit(input: { name: "look", garmentIds: $g }) { outfit { id } userErrors { code message } } }',
      { g: outfitGarments },
    )
  ).createOutfit;
  if (!createdOutfit.outfit) throw new Error(`createOutfit: ${JSON.stringify(createdOutfit.userErrors)}`);
  log(`person photo and outfit of ${outfitGarments.length} garments ready`);
  return { photo, outfit: createdOutfit.outfit.id };
}

/**
 * Instrumentation only: when the server thread receives each engine step (seed:step -> ms), to
 * split a step's publish delay into "engine -> server thread" and "server thread -> publish".
 */
function recordStepArrivals(srv: ComposedServer): Map<string, number> {
  const stepReceivedAt = new Map<string, number>();
  if (srv.engine) {
    const engine = srv.engine;
    const render = engine.render.bind(engine);
    engine.render = (request, options) =>
      render(
        request,
        options?.onStep
          ? {
              ...options,
              onStep: (progress) => (stepReceivedAt.set(`${request.seed}:${progress.step}`, Date.now()), options.onStep!(progress)),
            }
          : options,
      );
  }
  return stepReceivedAt;
}

export async function setUpStore(srv: ComposedServer, url: string, renderConcurrency: number, summary: BenchSummary): Promise<BenchStore> {
  const index = JSON.parse(readFileSync(path.join(samplesDir(), 'index.json'), 'utf8')) as SampleIndex;
  const { tenantId, key } = await createBenchTenant(url, renderConcurrency);
  const page = await createGarments(url, key, index, summary);
  const { photo, outfit } = await createLook(url, key, index, page);
  let nextSeed = 1000;
  const requestRender = async (steps: number): Promise<string> => {
    const r = (
      await ok<{ requestRender: { render: { id: string }; userErrors: unknown[] } }>(url, key, REQUEST, {
        i: { outfitId: outfit, personPhotoId: photo, steps, seed: (nextSeed += 1) },
      })
    ).requestRender;
    if (r.userErrors.length) throw new Error(`requestRender: ${JSON.stringify(r.userErrors)}`);
    return r.render.id;
  };
  const renderStatus = async (id: string) =>
    (await okRetry<{ node: { status: string; completedSteps: number } }>(url, key, STATUS, { id })).node;
  return { url, key, tenantId, requestRender, renderStatus, stepReceivedAt: recordStepArrivals(srv) };
}
