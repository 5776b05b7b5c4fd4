// bench:api's settings (from the command line; see scripts/bench-api.ts) and the operations it sends.
import { numberFlag, textOption } from '../bench-support';

const args = process.argv.slice(2);
export const QUERY_SECONDS = numberFlag('--duration', 8);
export const CONNECTIONS = 64;
export const GARMENTS = 50;
export const RENDERS_DURING_QUERY = 2;
export const QUERY_RENDER_STEPS = 100;
export const SUBSCRIBERS = numberFlag('--subscribers', 1000);
export const FANOUT_STEPS = numberFlag('--fanout-steps', 20);
export const GLOBAL_TIMEOUT_MS = numberFlag('--timeout', 300) * 1000;
export const PROFILE = args.includes('--profile');
export const BREAKDOWN = args.includes('--breakdown');
/** Fanout set-up: blocker renders (100 steps) per worker slot, queued ahead of the target, so it stays QUEUED while clients subscribe. */
export const BLOCKERS_PER_SLOT = numberFlag('--blockers-per-slot', 3);
export const MODEL_DIR = textOption('--model-dir', process.env.ATELIER_MODEL_DIR ?? 'models/tryon-tiny');
export const POSTGRES_BASE_URL = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL || '';
export type BenchDatabase = 'pglite' | 'postgres';
export const DATABASES: BenchDatabase[] = (() => {
  const asked = textOption('--database', POSTGRES_BASE_URL ? 'both' : 'pglite');
  if (asked !== 'pglite' && asked !== 'postgres' && asked !== 'both')
    throw new Error(`--database must be pglite, postgres or both, not ${asked}`);
  const kinds: BenchDatabase[] = asked === 'both' ? ['pglite', 'postgres'] : [asked];
  if (kinds.includes('postgres') && !POSTGRES_BASE_URL) throw new Error('--database postgres needs DATABASE_URL or TEST_DATABASE_URL');
  return kinds;
})();
export const UNCACHED_ONLY = args.includes('--uncached-only');
export const UNCACHED_SECONDS = numberFlag('--uncached-duration', 5);
export const UNCACHED_CONNECTIONS = 16;

export const GARMENTS_PAGE = '{ garments(first: 50) { edges { node { id sku category image { url } referenceCache { status bytes } } } } }';
export const GARMENTS_PAGE_10 = '{ garments(first: 10) { edges { node { id sku } } } }';
export const PROGRESS = 'subscription($id: ID!) { renderProgress(renderId: $id, previews: false) { status step totalSteps } }';
export const REQUEST =
  'mutation($i: RequestRenderInput!) { requestRender(input: $i) { render { id status } userErrors { code message } } }';
export const STATUS = 'query($id: ID!) { node(id: $id) { ... on Render { id status completedSteps } } }';
export const CANCEL = 'mutation($id: ID!) { cancelRender(id: $id) { render { status } userErrors { code } } }';

/** What the bench prints as its last line: one JSON object, filled in by each phase. */
export type BenchSummary = Record<string, unknown>;
