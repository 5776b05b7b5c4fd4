// bench:api's uncached reads: a page of 50 with reference caches, a page of 10 and an anonymous
// { __typename }, 16 connections, a unique variable on every request: reads at the database's speed.
import type { ComposedServer } from '../../test/support/server';
import { log, round } from '../bench-support';
import { describe, type Load } from './load';
import { profiled } from './profile';
import { GARMENTS_PAGE, GARMENTS_PAGE_10, UNCACHED_CONNECTIONS, UNCACHED_SECONDS, type BenchDatabase } from './settings';

/** Targets of the uncached reads, per database (issue 16). */
export const UNCACHED_TARGETS: Record<BenchDatabase, { page50Rps: number; page50P99Ms: number; page10Rps?: number }> = {
  pglite: { page50Rps: 250, page50P99Ms: 200 },
  postgres: { page50Rps: 500, page50P99Ms: 80, page10Rps: 1000 },
};

/** Fills `results` (the summary's uncached.<kind>) as each read is measured. */
export async function measureUncachedReads(
  srv: ComposedServer,
  load: Load,
  kind: BenchDatabase,
  results: Record<string, number>,
): Promise<void> {
  await load.uncachedCannon(GARMENTS_PAGE, load.key, 1); // warm-up of this path
  await load.settle();
  for (const [name, query, token] of [
    ['page50', GARMENTS_PAGE, load.key],
    ['page10', GARMENTS_PAGE_10, load.key],
    ['anonymousTypename', '{ __typename }', null],
  ] as const) {
    const before = srv.db.statementCount;
    const r = await profiled(`uncached ${name} on ${kind}`, () =>
      load.uncachedCannon(query, token, name === 'anonymousTypename' ? 3 : UNCACHED_SECONDS),
    );
    results[`${name}Rps`] = round(r.requests.average);
    results[`${name}P50Ms`] = r.latency.p50;
    results[`${name}P99Ms`] = r.latency.p99;
    results[`${name}Non2xx`] = r.non2xx + r.errors + r.timeouts;
    results[`${name}StatementsPerRequest`] = round((srv.db.statementCount - before) / Math.max(1, r.requests.total), 1);
    log(
      `uncached ${name} on ${kind} (${UNCACHED_CONNECTIONS} connections, unique variable per request): ${describe(r)}; ${results[`${name}StatementsPerRequest`]} SQL statements per request`,
    );
    await load.settle();
  }
}

/** Whether each database's uncached reads met their targets, by `${kind}Uncached...`. */
export function uncachedTargetsMet(databases: BenchDatabase[], uncached: Record<string, Record<string, number>>): Record<string, boolean> {
  const targets: Record<string, boolean> = {};
  for (const kind of databases) {
    const got = uncached[kind];
    const want = UNCACHED_TARGETS[kind];
    targets[`${kind}UncachedPage50Rps`] = (got?.page50Rps ?? 0) >= want.page50Rps;
    targets[`${kind}UncachedPage50P99Ms`] = (got?.page50P99Ms ?? Infinity) <= want.page50P99Ms;
    if (want.page10Rps !== undefined) targets[`${kind}UncachedPage10Rps`] = (got?.page10Rps ?? 0) >= want.page10Rps;
  }
  return targets;
}
