// The API process over the platform: the rate and connection limits, the demo tenant, GraphQL
// over HTTP and WebSocket, and the HTTP routes. Its listening socket is bound first
// (http-listener.ts), so the public URL is a value known before anything that hands out links.
import { join, resolve } from 'node:path';
import { bindHttpListener, type HttpListener } from '../http/http-listener';
import { mountHttpApp } from '../http/http-app';
import { createGraphQLTransport } from '../graphql/server';
import { MemoryConnectionLimiter, RateLimiter, RedisConnectionLimiter, type ConnectionLimiter } from '../limits';
import { readDemoSamples } from '../demo/demo-samples';
import { demoCredentialsBlob, demoCredentialsFile, demoWanted, seedDemoTenant, type DemoCredentials } from '../demo/demo-tenant';
import { DemoSessions } from '../demo/demo-sessions';
import { projectRoot } from '../common/project-paths';
import type { Config } from './config';
import type { Platform } from './platform';
import type { Services } from './services';

export interface ApiOptions {
  /**
   * true: create the demo tenant when missing, whatever the config says; false: never.
   * Default: the config's ATELIER_DEMO (auto seeds on the embedded default's first start,
   * never when the database is given by the caller, so tests get no demo unless they ask).
   */
  demo?: boolean;
  /** The built web app; default dist/web of the project. */
  webAppDir?: string | null;
}

/** The demo tenant's credentials; created: by this start; keptAt: where they are kept. */
export type DemoStatus = DemoCredentials & { created: boolean; keptAt: string };

export interface ApiProcess {
  /** http://localhost:<port> */
  url: string;
  port: number;
  /** The demo tenant when the demo is on (see src/demo/). */
  demo: DemoStatus | null;
  /** Drains HTTP and WebSocket, then releases the limits. */
  close(): Promise<void>;
}

/** Binds the API's port (configured, or any free one for 0): the first step of an API process. */
export function listen(config: Config): Promise<HttpListener> {
  return bindHttpListener(config.port, config.host);
}

/** The public URL: configured, or this process's own address; a worker alone hands out links as the configured port would. */
export function publicUrlOf(config: Config, listener: HttpListener | null): string {
  return config.publicUrl ?? `http://localhost:${listener?.port ?? config.port}`;
}

/**
 * The demo tenant: created when asked (and the model has samples), or the one kept, with its
 * session endpoint; null: no demo.
 */
async function openDemo(
  platform: Platform,
  services: Services,
  forced: boolean | undefined,
): Promise<{ status: DemoStatus; sessions: DemoSessions } | null> {
  const { config, logger, blobs } = platform;
  if (!(forced ?? config.demo !== 'off')) return null;
  const wanted = demoWanted(config.demo, {
    forced,
    firstStart: platform.firstStart,
    embedded: !config.databaseUrl,
    databaseOverridden: platform.databaseOverridden,
  });
  const samples = readDemoSamples(join(resolve(projectRoot, config.modelDir), 'samples'));
  // Kept beside the tenant's data: processes on PostgreSQL and S3 share no directory, so the
  // bucket; otherwise the data directory (the embedded database's home, or the shared volume).
  const keeper = config.databaseUrl && config.blobStore.kind === 's3' ? demoCredentialsBlob(blobs) : demoCredentialsFile(config.dataDir);
  const existing = await keeper.read();
  let status: DemoStatus | null = null;
  if (existing) status = { ...existing, created: false, keptAt: keeper.location };
  else if (wanted && samples)
    status = { ...(await seedDemoTenant(services, samples, keeper, logger)), created: true, keptAt: keeper.location };
  else if (wanted) logger.warn({ modelDir: config.modelDir }, 'no demo tenant: the model package has no samples/index.json');
  return status && { status, sessions: new DemoSessions(services, status, samples, config.demoAccess, platform.buckets) };
}

function connectionLimiterOf(platform: Platform): ConnectionLimiter {
  const { config, limitsRedis } = platform;
  const maxConnections = config.webSocket.maxConnectionsPerToken;
  return limitsRedis
    ? new RedisConnectionLimiter(limitsRedis, config.rateKeyPrefix, maxConnections)
    : new MemoryConnectionLimiter(maxConnections);
}

export async function startApi(
  platform: Platform,
  services: Services,
  listener: HttpListener,
  options: ApiOptions = {},
): Promise<ApiProcess> {
  const { config, logger, metrics } = platform;
  const rateLimiter = new RateLimiter(platform.buckets, config.rateLimits);
  const connectionLimiter = connectionLimiterOf(platform);
  const demo = await openDemo(platform, services, options.demo);
  const graphql = await createGraphQLTransport({
    httpServer: listener.server,
    services,
    catalogVersions: platform.catalogVersions,
    logger,
    metrics,
    limits: {
      query: { ...config.queryLimits, introspection: config.introspection ?? platform.db.kind === 'embedded' },
      maxBatchSize: config.maxBatchSize,
      rateLimiter,
      connectionLimiter,
      webSocket: config.webSocket,
    },
  });
  mountHttpApp(listener.app, {
    db: platform.db,
    blobs: platform.blobs,
    fileSigner: platform.fileSigner,
    uploads: services.uploads,
    logger,
    metrics,
    graphql,
    operatorToken: platform.secrets.adminToken,
    corsOrigins: config.corsOrigins,
    demo: demo?.sessions ?? null,
    webAppDir: options.webAppDir === undefined ? join(projectRoot, 'dist', 'web') : options.webAppDir,
    publicUrl: publicUrlOf(config, listener),
  });
  listener.serve();
  return {
    url: `http://localhost:${listener.port}`,
    port: listener.port,
    demo: demo?.status ?? null,
    async close() {
      await graphql.close();
      await Promise.all([rateLimiter.close(), connectionLimiter.close()]);
    },
  };
}
