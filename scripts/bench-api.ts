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
 *
 * This file runs the phases in order on each server; each phase is a module of scripts/bench-api/
 * (bench-store: the set-up; uncached-reads, query-alone, query-during-renders, fanout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger } from '../src/observability/logger';
import { composeServer, createTestDatabase, localConfig, type ComposedServer } from '../test/support/server';
import { log, machineSummary, round, runBench, sleep } from './bench-support';
import { setUpStore } from './bench-api/bench-store';
import { loadOn } from './bench-api/load';
import { measureUncachedReads, uncachedTargetsMet } from './bench-api/uncached-reads';
import { measureQueryAlone } from './bench-api/query-alone';
import { measureQueryDuringRenders } from './bench-api/query-during-renders';
import { measureFanout } from './bench-api/fanout';
import {
  DATABASES,
  GLOBAL_TIMEOUT_MS,
  MODEL_DIR,
  POSTGRES_BASE_URL,
  RENDERS_DURING_QUERY,
  SUBSCRIBERS,
  UNCACHED_ONLY,
  type BenchDatabase,
  type BenchSummary,
} from './bench-api/settings';

const summary: BenchSummary = {
  bench: 'api',
  ...machineSummary(),
  // `npm run bench:api` sets production, as the Dockerfile does (graphql-js checks types faster).
  nodeEnv: process.env.NODE_ENV ?? null,
};

async function main(): Promise<void> {
  const uncached: Record<string, Record<string, number>> = {};
  summary.uncached = uncached;
  for (const [i, kind] of DATABASES.entries()) await runOn(kind, i === 0 && !UNCACHED_ONLY, uncached);
  const targets = uncachedTargetsMet(DATABASES, uncached);
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

function benchConfig(dataDir: string) {
  return localConfig(dataDir, {
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
}

/** The phases on one server: set-up, the uncached reads, and with `full` every other phase. */
async function runPhases(
  srv: ComposedServer,
  renderConcurrency: number,
  kind: BenchDatabase,
  full: boolean,
  uncachedResults: Record<string, Record<string, number>>,
): Promise<void> {
  const url = `http://127.0.0.1:${srv.port}`;
  const store = await setUpStore(srv, url, renderConcurrency, summary);
  const load = loadOn(url, store.key);
  await load.cannon(1); // warm-up (JIT, connection pools)
  await load.settle();
  const results: Record<string, number> = {};
  uncachedResults[kind] = results;
  await measureUncachedReads(srv, load, kind, results);
  if (!full) return;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  await measureQueryAlone(srv, load, loop, summary);
  await measureQueryDuringRenders(srv, store, load, loop, summary);
  await measureFanout(srv, store, renderConcurrency, summary);
}

/** One server on `kind`: set-up, the uncached reads, and with `full` every other phase. */
async function runOn(kind: BenchDatabase, full: boolean, uncachedResults: Record<string, Record<string, number>>): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'atelier-bench-api-'));
  const postgres = kind === 'postgres' ? await createTestDatabase(POSTGRES_BASE_URL) : null;
  const config = benchConfig(dataDir);
  summary.renderConcurrency = config.renderConcurrency;
  summary.workerThreads = config.workerThreads;
  let server: ComposedServer | null = null;
  try {
    server = await composeServer(config, {
      role: 'all',
      database: postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'embedded', dataDir: null },
      logger: createLogger('silent'),
      sweeps: { intervalMs: 3_600_000 },
    });
    summary.model = server.engine?.model.id;
    summary.engineNice = server.engine?.threadNice ?? null;
    log(
      `server on http://127.0.0.1:${server.port} (role all, ${postgres ? 'PostgreSQL' : 'in-memory PGlite'}, model ${server.engine?.model.id}, render concurrency ${config.renderConcurrency})`,
    );
    await runPhases(server, config.renderConcurrency, kind, full, uncachedResults);
  } finally {
    summary.loadAvgEnd = round(loadavg()[0]!, 2);
    if (server) await Promise.race([server.close(), sleep(20_000)]);
    await postgres?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// The fanout's subscriber thread loads scripts/bench-api/fanout-subscribers.ts, not this file.
if (isMainThread) runBench(main, summary, GLOBAL_TIMEOUT_MS);
