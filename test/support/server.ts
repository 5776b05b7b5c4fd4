// Starts a real Atelier server for integration tests: embedded PGlite (in memory) or, when
// TEST_DATABASE_URL is set, a fresh PostgreSQL database created for the test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/main/config';
import { openPlatform, startServices, type PlatformOptions, type Role } from '../../src/main/platform';
import { listen, publicUrlOf, startApi, type ApiOptions, type DemoStatus } from '../../src/main/api-process';
import { startWorker, type WorkerOptions } from '../../src/main/worker-process';
import type { Services } from '../../src/main/services';
import type { Database } from '../../src/db/database';
import type { JobQueue } from '../../src/jobs/job-queue';
import type { PubSub } from '../../src/jobs/pubsub';
import type { Engine } from '../../src/inference';
import type { RenderSweeps } from '../../src/renders/render-jobs';
import type { CatalogVersions } from '../../src/garments/catalog-versions';
import type { Logger } from '../../src/observability/logger';
import { createLogger } from '../../src/observability/logger';
import { postgresConfig } from '../../src/db/database';
import { OPERATOR } from './graphql-client';

export type DatabaseKind = 'pglite' | 'postgres';

/** The databases to run a suite on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function databaseKinds(): DatabaseKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/**
 * The back ends a render test runs on: PGlite with the in-process queue and pub/sub, and
 * PostgreSQL with BullMQ and Redis pub/sub when TEST_REDIS_URL is set too (`redis`: its URL).
 */
export function renderBackends(): { kind: DatabaseKind; redis: string | null }[] {
  return databaseKinds().map((kind) => ({
    kind,
    redis: kind === 'postgres' && process.env.TEST_REDIS_URL ? process.env.TEST_REDIS_URL : null,
  }));
}

/** Probes until `done` holds (every 100 ms), then returns the last value; throws with it after `timeoutMs`. */
export async function waitUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StartOptions extends PlatformOptions, ApiOptions, WorkerOptions {
  /** Default 'all'. */
  role?: Role;
  /** A silent progress subscription re-reads its render after this long (ms); default 10000. */
  progressResyncMs?: number;
}

/** A server composed as src/main/start.ts composes a process, with its parts in view. */
export interface ComposedServer {
  /** Empty for a worker-only server. */
  url: string;
  /** 0 for a worker-only server. */
  port: number;
  /** The metrics listener's http://host:port (GET /metrics), or null without ATELIER_METRICS_PORT. */
  metricsUrl: string | null;
  role: Role;
  db: Database;
  queue: JobQueue;
  pubsub: PubSub;
  catalogVersions: CatalogVersions;
  logger: Logger;
  services: Services;
  engine: Engine | null;
  /** The render sweeps (a worker's), to run on demand. */
  sweeps: RenderSweeps | null;
  demo: DemoStatus | null;
  /** Drains HTTP and WebSocket, stops the worker, then closes the platform. */
  close(): Promise<void>;
}

/** The platform, the API's socket, the services, the worker, then the API: the order of src/main/start.ts. */
export async function composeServer(config: Config, options: StartOptions = {}): Promise<ComposedServer> {
  const role = options.role ?? 'all';
  const platform = await openPlatform(config, options);
  const listener = role === 'worker' ? null : await listen(config);
  const shared = await startServices(platform, publicUrlOf(config, listener), options);
  const worker = role === 'api' ? null : await startWorker(platform, shared.services, options);
  const api = listener ? await startApi(platform, shared.services, listener, options) : null;
  let closing: Promise<void> | null = null;
  return {
    url: api?.url ?? '',
    port: api?.port ?? 0,
    metricsUrl: platform.metricsUrl,
    role,
    db: platform.db,
    queue: platform.queue,
    pubsub: platform.pubsub,
    catalogVersions: platform.catalogVersions,
    logger: platform.logger,
    services: shared.services,
    engine: worker?.engine ?? null,
    sweeps: worker?.sweeps ?? null,
    demo: api?.demo ?? null,
    close() {
      closing ??= (async () => {
        await api?.close();
        await worker?.close();
        await shared.close();
        await platform.close();
      })();
      return closing;
    },
  };
}

export interface TestServer extends ComposedServer {
  dataDir: string;
  databaseUrl: string | null;
  stop(): Promise<void>;
}

/** Creates an empty PostgreSQL database next to `base`'s (default TEST_DATABASE_URL) and returns its URL. */
export async function createTestDatabase(base = process.env.TEST_DATABASE_URL): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `atelier_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(postgresConfig(base));
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client(postgresConfig(base));
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Rate and connection limits far above what any test sends, so suites that fire requests
 * quickly are not refused; limits tests pass their own. With Redis, the rate-limit keys get a
 * prefix of their own per server, so test files running at once never share buckets.
 */
export const GENEROUS_LIMITS: Record<string, string> = {
  ATELIER_RATE_API_KEY_PER_S: '100000',
  ATELIER_RATE_API_KEY_BURST: '100000',
  ATELIER_RATE_SHOPPER_PER_S: '100000',
  ATELIER_RATE_SHOPPER_BURST: '100000',
  ATELIER_RATE_ANONYMOUS_PER_S: '100000',
  ATELIER_RATE_ANONYMOUS_BURST: '100000',
  ATELIER_RATE_TENANT_PER_S: '100000',
  ATELIER_RATE_TENANT_BURST: '100000',
  ATELIER_RATE_SHOPPER_ADDRESS_PER_S: '100000',
  ATELIER_RATE_SHOPPER_ADDRESS_BURST: '100000',
  ATELIER_WS_MAX_CONNECTIONS_PER_TOKEN: '10000',
};

/**
 * The configuration of a server of its own on this machine (tests, benchmarks): any port, its own data directory and secrets, silent logs,
 * then `env`.
 */
export function localConfig(dataDir: string, env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ATELIER_DATA_DIR: dataDir,
    ATELIER_ADMIN_TOKEN: OPERATOR,
    ATELIER_SECRETS: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'silent',
    ...env,
  });
}

/**
 * A server on a fresh database. By default only the API runs (role 'api', in-process queue
 * whose jobs nobody takes); pass { role: 'all' } for the worker and its engine too.
 */
export async function startTestServer(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  options: Omit<StartOptions, 'database'> = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'atelier-test-'));
  const database = kind === 'postgres' ? await createTestDatabase() : null;
  const config = localConfig(dataDir, {
    ...GENEROUS_LIMITS,
    ATELIER_RATE_KEY_PREFIX: `atelier-test:${randomBytes(6).toString('hex')}:`,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const server = await composeServer(config, {
    role: 'api',
    ...options,
    database: database ? undefined : { kind: 'embedded', dataDir: null },
    logger: options.logger ?? createLogger('silent'),
  });
  return {
    ...server,
    dataDir,
    databaseUrl: database?.url ?? null,
    async stop() {
      await server.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
