/**
 * Benchmark of the API (not a test), on one in-process server (role 'all': API + worker with the
 * try-on engine in its worker thread, in-memory PGlite, in-process queue and pub/sub):
 *   query   a garments page (first: 50, with reference caches) with a tenant API key, autocannon at
 *           64 connections (in its own thread), ~8 s alone and ~8 s while 2 renders run; and ~4 s
 *           alone with a unique variable per request, so the response cache never answers;
 *           during the renders also: each render's start, from its RUNNING step-0 event to its
 *           first step (renderStartToFirstStep*);
 *   uncached on each database asked for (--database pglite|postgres|both; PostgreSQL from
 *           DATABASE_URL or TEST_DATABASE_URL, a fresh database made beside it): a page of 50 with
 *           reference caches and a page of 10 (id sku), 16 connections, a unique variable on every
 *           request so no stored answer serves it: reads at the database's speed;
 *   fanout  1,000 graphql-ws clients (separate WebSocket connections, in their own thread) on one
 *           render's renderProgress; lag = client receipt time - the worker's publish time of the
 *           same step (publishedAt, read by ONE extra listener on server.pubsub).
 * All traffic goes to 127.0.0.1. Bounded: a global timeout prints what it has and exits non-zero.
 * Human-readable lines first; the LAST line printed is one JSON object.
 *
 * The fanout render is kept QUEUED behind blocker renders (canceled once every client has
 * subscribed), so each client must receive every event: eventsLost counts (client, event) pairs
 * published but never received. Results: docs/benchmarks-api.md.
 *
 *   npm run bench:api [-- --duration S] [--subscribers N] [--fanout-steps N] [--model-dir DIR]
 *                        [--timeout S] [--blockers-per-slot N] [--database pglite|postgres|both]
 *                        [--uncached-only] [--uncached-duration S]
 *   --database     where the uncached reads run (default: both when DATABASE_URL or
 *                  TEST_DATABASE_URL is set, else pglite); the other phases run on the first
 *   --uncached-only  only the uncached reads (quick before/after comparisons)
 *   diagnostics: --breakdown  the query with parts taken away (anonymous, API key only, page, ...)
 *                --profile    CPU profile of the server thread per phase (self time by package)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session } from 'node:inspector';
import { createLogger } from '../src/observability/logger';
import { projectRoot } from '../src/common/project-paths';
import { decodeEvent, isTerminal, renderProgressChannel } from '../src/renders/render-progress';
import { fromGlobalId } from '../src/common/ids';
import { createGarment, ok, OPERATOR } from '../test/support/graphql-client';
import { wsClient } from '../test/support/graphql-ws';
import { composeServer, createTestDatabase, localConfig, type ComposedServer } from '../test/support/server';
import { machineSummary, numberFlag, runBench, textOption } from './bench-support';

// ---------------------------------------------------------------------------------------------
// Settings

const args = process.argv.slice(2);
const QUERY_SECONDS = numberFlag('--duration', 8);
const CONNECTIONS = 64;
const GARMENTS = 50;
const RENDERS_DURING_QUERY = 2;
const QUERY_RENDER_STEPS = 100;
const SUBSCRIBERS = numberFlag('--subscribers', 1000);
const FANOUT_STEPS = numberFlag('--fanout-steps', 20);
const GLOBAL_TIMEOUT_MS = numberFlag('--timeout', 300) * 1000;
const PROFILE = args.includes('--profile');
/** Fanout set-up: blocker renders (100 steps) per worker slot, queued ahead of the target, so it stays QUEUED while clients subscribe. */
const BLOCKERS_PER_SLOT = numberFlag('--blockers-per-slot', 3);
const MODEL_DIR = textOption('--model-dir', process.env.ATELIER_MODEL_DIR ?? 'models/tryon-tiny');
const POSTGRES_BASE_URL = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL || '';
type BenchDatabase = 'pglite' | 'postgres';
const DATABASES: BenchDatabase[] = (() => {
  const asked = textOption('--database', POSTGRES_BASE_URL ? 'both' : 'pglite');
  if (asked !== 'pglite' && asked !== 'postgres' && asked !== 'both')
    throw new Error(`--database must be pglite, postgres or both, not ${asked}`);
  const kinds: BenchDatabase[] = asked === 'both' ? ['pglite', 'postgres'] : [asked];
  if (kinds.includes('postgres') && !POSTGRES_BASE_URL) throw new Error('--database postgres needs DATABASE_URL or TEST_DATABASE_URL');
  return kinds;
})();
const UNCACHED_ONLY = args.includes('--uncached-only');
const UNCACHED_SECONDS = numberFlag('--uncached-duration', 5);
const UNCACHED_CONNECTIONS = 16;

const GARMENTS_PAGE = '{ garments(first: 50) { edges { node { id sku category image { url } referenceCache { status bytes } } } } }';
const GARMENTS_PAGE_10 = '{ garments(first: 10) { edges { node { id sku } } } }';
const PROGRESS = 'subscription($id: ID!) { renderProgress(renderId: $id, previews: false) { status step totalSteps } }';
const REQUEST = 'mutation($i: RequestRenderInput!) { requestRender(input: $i) { render { id status } userErrors { code message } } }';
const STATUS = 'query($id: ID!) { node(id: $id) { ... on Render { id status completedSteps } } }';
const CANCEL = 'mutation($id: ID!) { cancelRender(id: $id) { render { status } userErrors { code } } }';

// ---------------------------------------------------------------------------------------------
// The subscriber thread: N graphql-ws clients, each its own WebSocket, recording receipt times.

interface FanoutInit {
  url: string;
  token: string;
  renderId: string;
  steps: number;
  subscribers: number;
}

type FanoutMessage =
  | { kind: 'subscribed'; count: number; failed: number; ms: number }
  | { kind: 'done'; receipts: Float64Array; completed: number; errors: string[] }
  | { kind: 'log'; line: string };

/** Event slot of a (client, event): steps 0..N of RUNNING, then N+1 for the final state. */
const slotOf = (status: string, step: number, steps: number): number | null =>
  isTerminal(status as never) ? steps + 1 : status === 'RUNNING' ? step : null;

async function subscriberThread(init: FanoutInit): Promise<void> {
  const port = parentPort!;
  const slots = init.steps + 2;
  const receipts = new Float64Array(init.subscribers * slots); // 0 = never received
  const clients = Array.from({ length: init.subscribers }, () => wsClient(init.url, init.token));
  const errors: string[] = [];
  let subscribed = 0;
  let failed = 0;
  let completed = 0;
  const started = Date.now();
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const settle = () => {
    if (completed + failed >= init.subscribers) finish();
  };
  const firstEvent: ((ok: boolean) => void)[] = [];
  const subscribe = (index: number): Promise<boolean> =>
    new Promise<boolean>((resolveFirst) => {
      let first = true;
      firstEvent[index] = resolveFirst;
      clients[index]!.subscribe<{ renderProgress: { status: string; step: number } }>(
        { query: PROGRESS, variables: { id: init.renderId } },
        {
          next: (value) => {
            const now = Date.now();
            if (first) {
              // The current state: the server subscribed to the channel before reading it.
              first = false;
              resolveFirst(!value.errors);
            }
            const event = value.data?.renderProgress;
            if (!event) return;
            const slot = slotOf(event.status, event.step, init.steps);
            if (slot !== null && receipts[index * slots + slot] === 0) receipts[index * slots + slot] = now;
          },
          error: (error) => {
            if (errors.length < 5) errors.push(String((error as Error)?.message ?? JSON.stringify(error)));
            if (first) resolveFirst(false);
            failed += 1;
            settle();
          },
          complete: () => {
            completed += 1;
            settle();
          },
        },
      );
    });
  // Open the connections in waves, so the handshakes do not all land in one tick.
  const WAVE = 50;
  for (let i = 0; i < init.subscribers; i += WAVE) {
    const wave = await Promise.all(Array.from({ length: Math.min(WAVE, init.subscribers - i) }, (_, k) => subscribe(i + k)));
    subscribed += wave.filter(Boolean).length;
  }
  port.postMessage({
    kind: 'subscribed',
    count: subscribed,
    failed: init.subscribers - subscribed,
    ms: Date.now() - started,
  } satisfies FanoutMessage);
  // Wait for every subscription to complete, or for the main thread to say stop.
  await Promise.race([allDone, new Promise<void>((resolve) => port.once('message', () => resolve()))]);
  port.postMessage({ kind: 'done', receipts, completed, errors } satisfies FanoutMessage, [receipts.buffer]);
  await Promise.all(clients.map((c) => c.dispose()));
}

function launchSubscriberThread(init: FanoutInit): Worker {
  // Same approach as src/inference/worker-launch.ts: register tsx's CommonJS hook, then load this file.
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();\nrequire(${JSON.stringify(__filename)});`;
  return new Worker(bootstrap, { eval: true, workerData: { fanout: init } });
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

/** ok() again on a dropped keep-alive socket ("fetch failed"), for idempotent calls. */
async function okRetry<T = any>(...call: Parameters<typeof ok>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await ok(...call)) as T;
    } catch (error) {
      if (attempt >= 3 || !String((error as Error)?.message).includes('fetch failed')) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const round = (value: number, digits = 1): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = () => new Date().toISOString().slice(11, 19);
const log = (line: string) => console.log(`[${stamp()}] ${line}`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

async function waitUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done in ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** --profile: a CPU profile of the server's (main) thread, self time grouped by where the code lives. */
async function profiled<T>(label: string, run: () => Promise<T>): Promise<T> {
  if (!PROFILE) return run();
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await post('Profiler.stop');
    session.disconnect();
    const nodes = profile.nodes as { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }[];
    const deltas = profile.timeDeltas as number[];
    const samples = profile.samples as number[];
    const selfUs = new Map<number, number>();
    samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? 0)));
    const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
    const group = (url: string, fn: string): string => {
      if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
      if (m) return m[1]!;
      const src = /\/(src|test|scripts)\/(.*)$/.exec(url);
      if (src) return `${src[1]}/${src[2]!.split('/')[0]}`;
      return url.startsWith('node:') ? 'node internals' : url || '(native/other)';
    };
    const byGroup = new Map<string, number>();
    const byFn = new Map<string, number>();
    for (const node of nodes) {
      const us = selfUs.get(node.id) ?? 0;
      if (!us) continue;
      const g = group(node.callFrame.url, node.callFrame.functionName);
      byGroup.set(g, (byGroup.get(g) ?? 0) + us);
      const f = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/main\//, '')}:${node.callFrame.lineNumber + 1}`;
      byFn.set(f, (byFn.get(f) ?? 0) + us);
    }
    const top = (map: Map<string, number>, n: number) =>
      [...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, v]) => `${(v / 1000).toFixed(0)} ms (${((100 * v) / total).toFixed(1)}%) ${k}`);
    log(`profile of the server thread, ${label}: ${(total / 1000).toFixed(0)} ms sampled; self time by package:`);
    for (const line of top(byGroup, 14)) console.log(`    ${line}`);
    log(`  top functions by self time:`);
    for (const line of top(byFn, 20)) console.log(`    ${line}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Main

const summary: Record<string, unknown> = {
  bench: 'api',
  ...machineSummary(),
  // `npm run bench:api` sets production, as the Dockerfile does (graphql-js checks types faster).
  nodeEnv: process.env.NODE_ENV ?? null,
};

/** Targets of the uncached reads, per database (issue 16). */
const UNCACHED_TARGETS: Record<BenchDatabase, { page50Rps: number; page50P99Ms: number; page10Rps?: number }> = {
  pglite: { page50Rps: 250, page50P99Ms: 200 },
  postgres: { page50Rps: 500, page50P99Ms: 80, page10Rps: 1000 },
};

async function main(): Promise<void> {
  const uncached: Record<string, Record<string, number>> = {};
  summary.uncached = uncached;
  for (const [i, kind] of DATABASES.entries()) await runOn(kind, i === 0 && !UNCACHED_ONLY, uncached);
  const targets: Record<string, boolean> = {};
  for (const kind of DATABASES) {
    const got = uncached[kind];
    const want = UNCACHED_TARGETS[kind];
    targets[`${kind}UncachedPage50Rps`] = (got?.page50Rps ?? 0) >= want.page50Rps;
    targets[`${kind}UncachedPage50P99Ms`] = (got?.page50P99Ms ?? Infinity) <= want.page50P99Ms;
    if (want.page10Rps !== undefined) targets[`${kind}UncachedPage10Rps`] = (got?.page10Rps ?? 0) >= want.page10Rps;
  }
  if (!UNCACHED_ONLY) {
    targets.queryP99MsDuringRenders = Number(summary.queryP99MsDuringRenders) <= 50;
    targets.fanoutP99LagMs = Number(summary.fanoutP99LagMs) <= 250;
    targets.fanoutEventsLost = summary.fanoutEventsLost === 0;
  }
  summary.targetsMet = targets;
  log(
    `targets: ${Object.entries(targets)
      .map(([name, met]) => `${name} ${met ? 'met' : 'MISSED'}`)
      .join(', ')}`,
  );
}

/** One server on `kind`: set-up, the uncached reads, and with `full` every other phase. */
async function runOn(kind: BenchDatabase, full: boolean, uncachedResults: Record<string, Record<string, number>>): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'atelier-bench-api-'));
  const postgres = kind === 'postgres' ? await createTestDatabase(POSTGRES_BASE_URL) : null;
  const config = localConfig(dataDir, {
    ATELIER_MODEL_DIR: MODEL_DIR,
    // This measures throughput from one API key and 1,000 sockets of one token, not abuse (bench:abuse).
    ATELIER_RATE_API_KEY_PER_S: '0',
    ATELIER_RATE_TENANT_PER_S: '0',
    ATELIER_RATE_ANONYMOUS_PER_S: '0',
    ATELIER_WS_MAX_CONNECTIONS_PER_TOKEN: String(SUBSCRIBERS + 10),
    // The worker runs exactly the renders of the query-during-renders window at once.
    ATELIER_RENDER_CONCURRENCY: String(RENDERS_DURING_QUERY),
    // The engine's settings may be varied from the environment, as for `npm start`.
    ATELIER_ENGINE_NICE: process.env.ATELIER_ENGINE_NICE,
    ATELIER_WORKER_THREADS: process.env.ATELIER_WORKER_THREADS,
  });
  summary.renderConcurrency = config.renderConcurrency;
  summary.workerThreads = config.workerThreads;
  let server: ComposedServer | null = null;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    server = await composeServer(config, {
      role: 'all',
      database: postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'embedded', dataDir: null },
      logger: createLogger('silent'),
      sweeps: { intervalMs: 3_600_000 },
    });
    const srv = server;
    const url = `http://127.0.0.1:${srv.port}`;
    summary.model = srv.engine?.model.id;
    summary.engineNice = srv.engine?.threadNice ?? null;
    log(
      `server on ${url} (role all, ${postgres ? 'PostgreSQL' : 'in-memory PGlite'}, model ${srv.engine?.model.id}, render concurrency ${config.renderConcurrency})`,
    );

    // ---- set-up: tenant, 50 garments with READY caches, a person photo, an outfit
    const samplesDir = path.join(path.resolve(projectRoot, MODEL_DIR), 'samples');
    const index = JSON.parse(readFileSync(path.join(samplesDir, 'index.json'), 'utf8')) as {
      persons: { image: string }[];
      garments: { category: string; image: string }[];
    };
    const sample = (p: string) => `data:image/png;base64,${readFileSync(path.join(samplesDir, p)).toString('base64')}`;
    // Enough concurrent renders for the fanout set-up (the worker's slots plus the target).
    const created = await ok(
      url,
      OPERATOR,
      'mutation($n: String!, $m: Int) { createTenant(input: { name: $n, maxConcurrentRenders: $m }) { tenant { id } apiKey userErrors { code } } }',
      { n: 'Bench', m: BLOCKERS_PER_SLOT * config.renderConcurrency + 2 },
    );
    const tenantId = fromGlobalId(created.createTenant.tenant.id, 'Tenant') ?? created.createTenant.tenant.id;
    const key: string = created.createTenant.apiKey;
    const images = index.garments.map((g) => ({ category: g.category, image: sample(g.image) }));
    let t = Date.now();
    const garmentIds: string[] = [];
    for (let i = 0; i < GARMENTS; i += 1) {
      const g = images[i % images.length]!;
      garmentIds.push(await createGarment(url, key, `sku-${i}`, g.category, g.image));
    }
    const page = await waitUntil(
      async () => (await ok(url, key, GARMENTS_PAGE)).garments.edges.map((e: any) => e.node),
      (nodes: any[]) => nodes.length === GARMENTS && nodes.every((n) => n.referenceCache?.status !== 'PENDING'),
      120_000,
      'reference caches',
    );
    const ready = page.filter((n: any) => n.referenceCache?.status === 'READY').length;
    const responseBytes = Buffer.byteLength(JSON.stringify({ data: { garments: { edges: page.map((node: any) => ({ node })) } } }));
    log(`${GARMENTS} garments created, ${ready} caches READY in ${Date.now() - t} ms; page response ~${responseBytes} bytes`);
    summary.garmentsReady = ready;
    summary.pageBytes = responseBytes;
    const photo = (
      await ok(url, key, 'mutation($d: String!) { uploadPersonPhoto(input: { image: { dataUrl: $d } }) { personPhoto { id } } }', {
        d: sample(index.persons[0]!.image),
      })
    ).uploadPersonPhoto.personPhoto.id;
    const outfitGarments = ['TOP', 'BOTTOM', 'SHOES'].map((c) => page.find((n: any) => n.category === c)?.id).filter(Boolean) as string[];
    const createdOutfit = (
      await ok(
        url,
        key,
        'mutation($g: [ID!]!) { createOutfit(input: { name: "look", garmentIds: $g }) { outfit { id } userErrors { code message } } }',
        { g: outfitGarments },
      )
    ).createOutfit;
    if (!createdOutfit.outfit) throw new Error(`createOutfit: ${JSON.stringify(createdOutfit.userErrors)}`);
    const outfit: string = createdOutfit.outfit.id;
    let nextSeed = 1000;
    const requestRender = async (steps: number, seed = (nextSeed += 1)): Promise<string> => {
      const r = (await ok(url, key, REQUEST, { i: { outfitId: outfit, personPhotoId: photo, steps, seed } })).requestRender;
      if (r.userErrors.length) throw new Error(`requestRender: ${JSON.stringify(r.userErrors)}`);
      return r.render.id;
    };
    const renderStatus = async (id: string) => (await okRetry(url, key, STATUS, { id })).node as { status: string; completedSteps: number };
    log(`person photo and outfit of ${outfitGarments.length} garments ready`);
    // Instrumentation only: when the server thread receives each engine step (seed:step -> ms),
    // to split a step's publish delay into "engine -> server thread" and "server thread -> publish".
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

    // ---- query: alone, then during renders
    // `uncached`: every request carries a unique (unused) variable, so the response cache never
    // answers it: the cost of a catalog read that must go to the database.
    const cannon = (seconds: number, uncached = false) =>
      autocannon({
        url: `${url}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(uncached ? { query: GARMENTS_PAGE, variables: { nonce: '[<id>]' } } : { query: GARMENTS_PAGE }),
        idReplacement: uncached,
        connections: CONNECTIONS,
        duration: seconds,
        workers: 1, // the load generator gets its own thread (not the server's event loop)
      });
    const describe = (r: AutocannonResult) =>
      `${round(r.requests.average)} req/s, latency p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms max ${r.latency.max} ms, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`;

    /** Lets the server finish what a load phase left queued (autocannon stops sending, the server goes on answering). */
    const settle = async () => {
      const deadline = Date.now() + 10_000;
      await sleep(500);
      while (Date.now() < deadline) {
        const started = Date.now();
        await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"query":"{ __typename }"}',
        }).then((r) => r.text());
        if (Date.now() - started < 20) return;
        await sleep(200);
      }
    };
    await cannon(1); // warm-up (JIT, connection pools)
    await settle();
    // Reads no stored answer can serve: a unique variable on every request, 16 connections.
    const uncachedCannon = (query: string, token: string | null, seconds: number) =>
      autocannon({
        url: `${url}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables: { nonce: '[<id>]' } }),
        idReplacement: true,
        connections: UNCACHED_CONNECTIONS,
        duration: seconds,
        workers: 1,
      });
    const results: Record<string, number> = {};
    uncachedResults[kind] = results;
    await uncachedCannon(GARMENTS_PAGE, key, 1); // warm-up of this path
    await settle();
    for (const [name, query, token] of [
      ['page50', GARMENTS_PAGE, key],
      ['page10', GARMENTS_PAGE_10, key],
      ['anonymousTypename', '{ __typename }', null],
    ] as const) {
      const before = srv.db.statementCount;
      const r = await profiled(`uncached ${name} on ${kind}`, () =>
        uncachedCannon(query, token, name === 'anonymousTypename' ? 3 : UNCACHED_SECONDS),
      );
      results[`${name}Rps`] = round(r.requests.average);
      results[`${name}P50Ms`] = r.latency.p50;
      results[`${name}P99Ms`] = r.latency.p99;
      results[`${name}Non2xx`] = r.non2xx + r.errors + r.timeouts;
      results[`${name}StatementsPerRequest`] = round((srv.db.statementCount - before) / Math.max(1, r.requests.total), 1);
      log(
        `uncached ${name} on ${kind} (${UNCACHED_CONNECTIONS} connections, unique variable per request): ${describe(r)}; ${results[`${name}StatementsPerRequest`]} SQL statements per request`,
      );
      await settle();
    }
    if (!full) return;
    // One connection first: the service time of one request, with nothing queued behind it.
    const serial = await autocannon({
      url: `${url}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: GARMENTS_PAGE }),
      connections: 1,
      duration: 2,
      workers: 1,
    });
    await settle();
    summary.querySerialRps = round(serial.requests.average);
    summary.querySerialP50Ms = serial.latency.p50;
    log(`query at 1 connection (2 s): ${describe(serial)}`);
    if (args.includes('--breakdown')) {
      // Where a request's time goes, by taking parts away (64 connections, 3 s each).
      const variants: [string, string | null, string][] = [
        ['anonymous { __typename } (HTTP + Apollo only)', null, '{ __typename }'],
        ['API key { __typename } (+ API-key lookup)', key, '{ __typename }'],
        ['API key garments(first: 50) { id sku } (+ page read)', key, '{ garments(first: 50) { edges { node { id sku } } } }'],
        [
          'API key garments + image url (+ URL signing)',
          key,
          '{ garments(first: 50) { edges { node { id sku category image { url } } } } }',
        ],
        ['API key full page (+ reference caches)', key, GARMENTS_PAGE],
      ];
      const breakdown: Record<string, unknown>[] = [];
      for (const [label, token, query] of variants) {
        await settle();
        const before = srv.db.statementCount;
        const r = await autocannon({
          url: `${url}/graphql`,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query }),
          connections: CONNECTIONS,
          duration: 3,
          workers: 1,
        });
        const perRequest = round((srv.db.statementCount - before) / Math.max(1, r.requests.total), 1);
        breakdown.push({ label, rps: round(r.requests.average), p99Ms: r.latency.p99, statementsPerRequest: perRequest });
        log(`breakdown: ${label}: ${describe(r)}; ${perRequest} SQL statements per request`);
      }
      summary.breakdown = breakdown;
    }
    await settle();
    loop.enable();
    loop.reset();
    const statementsBefore = srv.db.statementCount;
    const alone = await profiled('query alone', () => cannon(QUERY_SECONDS));
    loop.disable();
    summary.queryStatementsPerRequest = round((srv.db.statementCount - statementsBefore) / Math.max(1, alone.requests.total), 1);
    summary.queryRps = round(alone.requests.average);
    summary.queryP50Ms = alone.latency.p50;
    summary.queryP99Ms = alone.latency.p99;
    summary.queryMaxMs = alone.latency.max;
    summary.queryNon2xx = alone.non2xx;
    summary.queryErrors = alone.errors + alone.timeouts;
    summary.queryEventLoopP99Ms = round(loop.percentile(99) / 1e6);
    log(
      `query alone (${CONNECTIONS} connections, ${QUERY_SECONDS} s): ${describe(alone)}; server event-loop delay p99 ${summary.queryEventLoopP99Ms} ms; ${summary.queryStatementsPerRequest} SQL statements per request`,
    );
    await settle();
    const uncachedBefore = srv.db.statementCount;
    const uncached = await cannon(Math.max(3, Math.round(QUERY_SECONDS / 2)), true);
    summary.queryUncachedStatementsPerRequest = round((srv.db.statementCount - uncachedBefore) / Math.max(1, uncached.requests.total), 1);
    summary.queryUncachedRps = round(uncached.requests.average);
    summary.queryUncachedP99Ms = uncached.latency.p99;
    summary.queryUncachedNon2xx = uncached.non2xx;
    log(
      `query alone, response cache defeated: ${describe(uncached)}; ${summary.queryUncachedStatementsPerRequest} SQL statements per request`,
    );
    await settle();

    // Renders: keep RENDERS_DURING_QUERY running for the whole window. The worker runs that many
    // at once (ATELIER_RENDER_CONCURRENCY above) and as many more wait QUEUED, so when one ends the
    // next starts at once; the requester of the one that ended then queues another.
    let keepRendering = true;
    let rendersStarted = 0;
    let stepsDuring = 0;
    let measuring = false;
    const renderLoops: Promise<void>[] = [];
    const runningNow = new Set<string>();
    const unfinished = new Set<string>();
    const reportDelays: number[] = [];
    /** Per render: when its RUNNING step-0 event was published (the worker took it up). */
    const takenUpAt = new Map<string, number>();
    const startDelays: number[] = [];
    const allDoneUnsub: (() => Promise<void>)[] = [];
    for (let slot = 0; slot < 2 * RENDERS_DURING_QUERY; slot += 1) {
      renderLoops.push(
        (async () => {
          while (keepRendering) {
            const id = await requestRender(QUERY_RENDER_STEPS);
            unfinished.add(id);
            rendersStarted += 1;
            const rawId = fromGlobalId(id, 'Render')!;
            await new Promise<void>((resolve) => {
              void srv.pubsub
                .subscribe(renderProgressChannel(tenantId, rawId).name, (message) => {
                  const event = decodeEvent(message);
                  if (event.render.status === 'RUNNING' && event.step === 0) takenUpAt.set(rawId, event.publishedAt);
                  if (event.render.status === 'RUNNING' && event.step === 1 && measuring && takenUpAt.has(rawId))
                    startDelays.push(event.publishedAt - takenUpAt.get(rawId)!);
                  if (event.render.status === 'RUNNING' && event.step > 0) {
                    runningNow.add(rawId);
                    if (measuring) {
                      stepsDuring += 1;
                      const received = stepReceivedAt.get(`${event.render.seed}:${event.step}`);
                      if (received !== undefined) reportDelays.push(event.publishedAt - received);
                    }
                  }
                  if (event.final || isTerminal(event.render.status)) {
                    runningNow.delete(rawId);
                    unfinished.delete(id);
                    resolve();
                  }
                })
                .then((unsubscribe) => allDoneUnsub.push(unsubscribe));
            });
          }
        })(),
      );
    }
    await waitUntil(
      async () => runningNow.size,
      (n) => n >= RENDERS_DURING_QUERY,
      60_000,
      'renders running',
    );
    await settle();
    log(`${runningNow.size} renders of ${QUERY_RENDER_STEPS} steps running; measuring`);
    measuring = true;
    loop.reset();
    loop.enable();
    const minRunning: number[] = [];
    const sampler = setInterval(() => minRunning.push(runningNow.size), 250);
    const during = await profiled('query during renders', () => cannon(QUERY_SECONDS));
    clearInterval(sampler);
    loop.disable();
    measuring = false;
    keepRendering = false;
    summary.queryRpsDuringRenders = round(during.requests.average);
    summary.queryP50MsDuringRenders = during.latency.p50;
    summary.queryP99MsDuringRenders = during.latency.p99;
    summary.queryMaxMsDuringRenders = during.latency.max;
    summary.queryNon2xxDuringRenders = during.non2xx;
    summary.queryErrorsDuringRenders = during.errors + during.timeouts;
    summary.queryEventLoopP99MsDuringRenders = round(loop.percentile(99) / 1e6);
    summary.renderStepsDuringQuery = stepsDuring;
    reportDelays.sort((a, b) => a - b);
    summary.renderStepReportP50MsDuringQuery = percentile(reportDelays, 50);
    summary.renderStepReportP99MsDuringQuery = percentile(reportDelays, 99);
    summary.rendersRunningMin = minRunning.length ? Math.min(...minRunning) : 0;
    // Between one render's end and the next one's first step (request, start, preparation) a slot is empty.
    summary.rendersRunningMean = minRunning.length ? round(minRunning.reduce((a, b) => a + b, 0) / minRunning.length, 2) : 0;
    summary.renderStepsPerSecondDuringQuery = round(stepsDuring / QUERY_SECONDS, 1);
    // A render's start under load: from its RUNNING step-0 event (the worker took it up) to its
    // first step (inputs loaded, engine prepared, first denoiser call).
    startDelays.sort((a, b) => a - b);
    summary.renderStartToFirstStepP50MsDuringQuery = percentile(startDelays, 50);
    summary.renderStartToFirstStepMaxMsDuringQuery = startDelays.length ? startDelays[startDelays.length - 1]! : 0;
    summary.renderStartsMeasured = startDelays.length;
    log(
      `query during ${RENDERS_DURING_QUERY} renders: ${describe(during)}; server event-loop delay p99 ${summary.queryEventLoopP99MsDuringRenders} ms`,
    );
    log(
      `renders during the window: ${stepsDuring} steps published (${summary.renderStepsPerSecondDuringQuery}/s over both), ${summary.rendersRunningMean} running on average (sampled every 250 ms, at least ${summary.rendersRunningMin}), ${rendersStarted} requested; ` +
        `step received on the server thread -> published: p50 ${summary.renderStepReportP50MsDuringQuery} ms p99 ${summary.renderStepReportP99MsDuringQuery} ms (a preview's blob write, then the publish; progress DB writes run beside)`,
    );
    log(
      `render start under load (RUNNING step 0 -> step 1): p50 ${summary.renderStartToFirstStepP50MsDuringQuery} ms, max ${summary.renderStartToFirstStepMaxMsDuringQuery} ms over ${startDelays.length} renders`,
    );
    // Cancel what still runs, so the fanout starts from an idle worker.
    for (const id of [...unfinished]) await okRetry(url, key, CANCEL, { id });
    await Promise.race([Promise.all(renderLoops), sleep(30_000)]);
    for (const unsubscribe of allDoneUnsub) await unsubscribe();

    // ---- fanout: fill the worker's slots with blockers, subscribe everyone to a QUEUED render, release
    const blockers: string[] = [];
    for (let i = 0; i < BLOCKERS_PER_SLOT * config.renderConcurrency; i += 1) blockers.push(await requestRender(100));
    await waitUntil(
      async () => Promise.all(blockers.slice(0, config.renderConcurrency).map(renderStatus)),
      (s) => s.every((r) => r.status === 'RUNNING'),
      60_000,
      'blockers running',
    );
    const target = await requestRender(FANOUT_STEPS);
    const targetRaw = fromGlobalId(target, 'Render')!;
    if ((await renderStatus(target)).status !== 'QUEUED') throw new Error('the fanout render started before its subscribers');
    const slots = FANOUT_STEPS + 2;
    const published = new Float64Array(slots); // publishedAt per slot, from ONE listener on the pub/sub
    let finalPublished: () => void = () => undefined;
    const finalSeen = new Promise<void>((r) => (finalPublished = r));
    const unsubscribeTarget = await srv.pubsub.subscribe(renderProgressChannel(tenantId, targetRaw).name, (message) => {
      const event = decodeEvent(message);
      const slot =
        event.final || isTerminal(event.render.status) ? FANOUT_STEPS + 1 : event.render.status === 'RUNNING' ? event.step : null;
      if (slot !== null && published[slot] === 0) published[slot] = event.publishedAt;
      if (slot === FANOUT_STEPS + 1) finalPublished();
    });
    log(
      `fanout: ${blockers.length} blocker renders (100 steps; ${config.renderConcurrency} running, the rest queued) hold the worker; render ${target} QUEUED; connecting ${SUBSCRIBERS} graphql-ws clients`,
    );
    const thread = launchSubscriberThread({ url, token: key, renderId: target, steps: FANOUT_STEPS, subscribers: SUBSCRIBERS });
    let threadError: Error | null = null;
    thread.on('error', (error) => (threadError = error));
    const next = <K extends FanoutMessage['kind']>(kind: K): Promise<Extract<FanoutMessage, { kind: K }>> =>
      new Promise((resolve, reject) => {
        const onMessage = (message: FanoutMessage) => {
          if (message.kind === 'log') log(message.line);
          if (message.kind !== kind) return;
          thread.off('message', onMessage);
          resolve(message as Extract<FanoutMessage, { kind: K }>);
        };
        thread.on('message', onMessage);
        thread.once('error', reject);
      });
    const subscribed = await next('subscribed');
    log(`${subscribed.count} subscribed (${subscribed.failed} failed) in ${subscribed.ms} ms`);
    summary.fanoutSubscribed = subscribed.count;
    summary.fanoutSubscribeMs = subscribed.ms;
    const stillQueued = (await renderStatus(target)).status === 'QUEUED';
    summary.fanoutAllSubscribedBeforeStart = stillQueued;
    if (!stillQueued)
      log('warning: the fanout render started before every client subscribed (events before a late subscription count as lost)');
    const doneMessage = next('done');
    const done = await profiled('fanout', async () => {
      for (const id of blockers) await okRetry(url, key, CANCEL, { id });
      log(`blockers canceled; render ${target} (${FANOUT_STEPS} steps) starts`);
      const startedAt = Date.now();
      await Promise.race([finalSeen, sleep(120_000)]);
      log(`final state published after ${Date.now() - startedAt} ms; waiting for the clients`);
      const timer = setTimeout(() => thread.postMessage('stop'), 15_000);
      const result = await doneMessage;
      clearTimeout(timer);
      return result;
    });
    await unsubscribeTarget();
    if (threadError) throw threadError;

    const lags: number[] = [];
    let lost = 0;
    let expected = 0;
    const perSlotP99: number[] = [];
    for (let slot = 0; slot < slots; slot += 1) {
      if (published[slot] === 0) continue; // never published (e.g. a step skipped): not a loss
      const slotLags: number[] = [];
      for (let c = 0; c < SUBSCRIBERS; c += 1) {
        expected += 1;
        const at = done.receipts[c * slots + slot]!;
        if (at === 0) lost += 1;
        else slotLags.push(at - published[slot]!);
      }
      slotLags.sort((a, b) => a - b);
      perSlotP99.push(percentile(slotLags, 99));
      lags.push(...slotLags);
    }
    lags.sort((a, b) => a - b);
    const publishedSlots = [...published].filter((v) => v > 0).length;
    summary.fanoutSubscribers = SUBSCRIBERS;
    summary.fanoutSteps = FANOUT_STEPS;
    summary.fanoutEventsPublished = publishedSlots;
    summary.fanoutEventsExpected = expected;
    summary.fanoutP50LagMs = percentile(lags, 50);
    summary.fanoutP99LagMs = percentile(lags, 99);
    summary.fanoutMaxLagMs = lags.length ? lags[lags.length - 1] : NaN;
    summary.fanoutEventsLost = lost;
    summary.fanoutCompleted = done.completed;
    summary.fanoutStepIntervalMs =
      publishedSlots > 2 ? round((published[FANOUT_STEPS]! - published[1]!) / Math.max(1, FANOUT_STEPS - 1)) : null;
    summary.fanoutWorstStepP99LagMs = perSlotP99.length ? Math.max(...perSlotP99) : null;
    if (done.errors.length) summary.fanoutErrors = done.errors;
    log(
      `fanout: ${publishedSlots} events x ${SUBSCRIBERS} clients; lag p50 ${summary.fanoutP50LagMs} ms p99 ${summary.fanoutP99LagMs} ms max ${summary.fanoutMaxLagMs} ms; ` +
        `lost ${lost}; ${done.completed} subscriptions completed; one step every ~${summary.fanoutStepIntervalMs} ms`,
    );
    await thread.terminate();
  } finally {
    summary.loadAvgEnd = round(loadavg()[0]!, 2);
    if (server) await Promise.race([server.close(), sleep(20_000)]);
    await postgres?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMainThread) {
  runBench(main, summary, GLOBAL_TIMEOUT_MS);
} else if ((workerData as { fanout?: FanoutInit })?.fanout) {
  subscriberThread((workerData as { fanout: FanoutInit }).fanout).catch((error: unknown) => {
    parentPort?.postMessage({ kind: 'log', line: `subscriber thread failed: ${String(error)}` } satisfies FanoutMessage);
    throw error;
  });
}
