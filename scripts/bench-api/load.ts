// bench:api's load generator: autocannon (in its own thread) against the server's /graphql, and
// the pause after a load phase that lets the server finish what it left queued.
import autocannon from 'autocannon';
import { round, sleep } from '../bench-support';
import { CONNECTIONS, GARMENTS_PAGE, UNCACHED_CONNECTIONS } from './settings';

export type LoadResult = autocannon.Result;

/** One autocannon run of `query` (POST /graphql), as `token` (null: anonymous). */
export function fire(
  url: string,
  token: string | null,
  query: string,
  { connections, seconds, unique = false }: { connections: number; seconds: number; unique?: boolean },
): Promise<LoadResult> {
  return autocannon({
    url: `${url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    // `unique`: every request carries a unique (unused) variable, so no stored answer serves it.
    body: JSON.stringify(unique ? { query, variables: { nonce: '[<id>]' } } : { query }),
    ...(unique ? { idReplacement: true } : {}),
    connections,
    duration: seconds,
    workers: 1, // the load generator gets its own thread (not the server's event loop)
  });
}

export const describe = (r: LoadResult): string =>
  `${round(r.requests.average)} req/s, latency p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms max ${r.latency.max} ms, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`;

/** The load phases' tools on one server, for one API key. */
export interface Load {
  url: string;
  key: string;
  /** The garments page at 64 connections; `uncached`: the response cache never answers. */
  cannon(seconds: number, uncached?: boolean): Promise<LoadResult>;
  /** Reads no stored answer can serve: a unique variable on every request, 16 connections. */
  uncachedCannon(query: string, token: string | null, seconds: number): Promise<LoadResult>;
  /** Lets the server finish what a load phase left queued (autocannon stops sending, the server goes on answering). */
  settle(): Promise<void>;
}

export function loadOn(url: string, key: string): Load {
  return {
    url,
    key,
    cannon: (seconds, uncached = false) => fire(url, key, GARMENTS_PAGE, { connections: CONNECTIONS, seconds, unique: uncached }),
    uncachedCannon: (query, token, seconds) => fire(url, token, query, { connections: UNCACHED_CONNECTIONS, seconds, unique: true }),
    settle: async () => {
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
    },
  };
}
