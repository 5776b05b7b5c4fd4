// bench:api's query phases with the server otherwise idle: the garments page at one connection
// (service time), optionally broken down by parts (--breakdown), at 64 connections (with the
// server's event-loop delay), and at 64 with the response cache defeated.
import type { IntervalHistogram } from 'node:perf_hooks';
import type { ComposedServer } from '../../test/support/server';
import { log, round } from '../bench-support';
import { describe, fire, type Load } from './load';
import { profiled } from './profile';
import { BREAKDOWN, CONNECTIONS, GARMENTS_PAGE, QUERY_SECONDS, type BenchSummary } from './settings';

/** One connection first: the service time of one request, with nothing queued behind it. */
async function measureSerial(load: Load, summary: BenchSummary): Promise<void> {
  const serial = await fire(load.url, load.key, GARMENTS_PAGE, { connections: 1, seconds: 2 });
  await load.settle();
  summary.querySerialRps = round(serial.requests.average);
  summary.querySerialP50Ms = serial.latency.p50;
  log(`query at 1 connection (2 s): ${describe(serial)}`);
}

/** Where a request's time goes, by taking parts away (64 connections, 3 s each). */
async function measureBreakdown(srv: ComposedServer, load: Load, summary: BenchSummary): Promise<void> {
  const key = load.key;
  const variants: [string, string | null, string][] = [
    ['anonymous { __typename } (HTTP + Apollo only)', null, '{ __typename }'],
    ['API key { __typename } (+ API-key lookup)', key, '{ __typename }'],
    ['API key garments(first: 50) { id sku } (+ page read)', key, '{ garments(first: 50) { edges { node { id sku } } } }'],
    ['API key garments + image url (+ URL signing)', key, '{ garments(first: 50) { edges { node { id sku category image { url } } } } }'],
    ['API key full page (+ reference caches)', key, GARMENTS_PAGE],
  ];
  const breakdown: Record<string, unknown>[] = [];
  for (const [label, token, query] of variants) {
    await load.settle();
    const before = srv.db.statementCount;
    const r = await fire(load.url, token, query, { connections: CONNECTIONS, seconds: 3 });
    const perRequest = round((srv.db.statementCount - before) / Math.max(1, r.requests.total), 1);
    breakdown.push({ label, rps: round(r.requests.average), p99Ms: r.latency.p99, statementsPerRequest: perRequest });
    log(`breakdown: ${label}: ${describe(r)}; ${perRequest} SQL statements per request`);
  }
  summary.breakdown = breakdown;
}

async function measureAlone(srv: ComposedServer, load: Load, loop: IntervalHistogram, summary: BenchSummary): Promise<void> {
  loop.enable();
  loop.reset();
  const statementsBefore = srv.db.statementCount;
  const alone = await profiled('query alone', () => load.cannon(QUERY_SECONDS));
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
}

async function measureAloneUncached(srv: ComposedServer, load: Load, summary: BenchSummary): Promise<void> {
  const uncachedBefore = srv.db.statementCount;
  const uncached = await load.cannon(Math.max(3, Math.round(QUERY_SECONDS / 2)), true);
  summary.queryUncachedStatementsPerRequest = round((srv.db.statementCount - uncachedBefore) / Math.max(1, uncached.requests.total), 1);
  summary.queryUncachedRps = round(uncached.requests.average);
  summary.queryUncachedP99Ms = uncached.latency.p99;
  summary.queryUncachedNon2xx = uncached.non2xx;
  log(
    `query alone, response cache defeated: ${describe(uncached)}; ${summary.queryUncachedStatementsPerRequest} SQL statements per request`,
  );
}

export async function measureQueryAlone(srv: ComposedServer, load: Load, loop: IntervalHistogram, summary: BenchSummary): Promise<void> {
  await measureSerial(load, summary);
  if (BREAKDOWN) await measureBreakdown(srv, load, summary);
  await load.settle();
  await measureAlone(srv, load, loop, summary);
  await load.settle();
  await measureAloneUncached(srv, load, summary);
  await load.settle();
}
