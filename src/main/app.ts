// The composition root: builds every part from the configuration, in one place, and
// starts the HTTP + WebSocket server. Nothing else creates long-lived objects.
import type { Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openDatabase, type Database, type DatabaseTarget } from '../db/database';
import { UrlSigner, openBlobStore, type BlobStoreSettings } from '../blobs';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import { startMetricsServer } from '../observability/metrics-server';
import { answerClientErrors, createHttpApp } from '../http/http-app';
import { createExpressServer } from '../http/express-server';
import { continueOnlyWhenRead } from '../http/request-body';
import { createGraphQLTransport, type GraphQLTransport } from '../graphql/server';
import {
  LimitsRedis,
  MemoryConnectionLimiter,
  MemoryTokenBuckets,
  RateLimiter,
  RedisConnectionLimiter,
  RedisTokenBuckets,
} from '../limits';
import type { Config } from './config';
import { loadSecrets } from './secrets';
import { createServices, type Services } from './services';
import { projectRoot } from './paths';
import type { JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import { InProcessJobQueue } from '../jobs/in-process-queue';
import { InProcessPubSub } from '../jobs/in-process-pubsub';
import { BullMqJobQueue, type BullMqOptions } from '../jobs/bullmq-queue';
import { RedisPubSub } from '../jobs/redis-pubsub';
import { createEngine, type Engine } from '../inference';
import type { EventNotifier } from '../webhooks/webhook-events';
import type { RenderSweeps } from '../renders/render-jobs';
import { startWorkerJobs, type SweepOptions, type WorkerJobs } from './worker-jobs';
import { CatalogVersions } from '../garments/catalog-versions';
import { readDemoSamples } from '../demo/demo-samples';
import { preparePrivateDataDir } from './data-dir';
import { demoCredentialsBlob, demoCredentialsFile, demoWanted, seedDemoTenant, type DemoCredentials } from '../demo/demo-tenant';
import { DemoSessions } from '../demo/demo-sessions';

/** What a process runs: the API, the worker (engine jobs and sweeps), or both. */
export type Role = 'all' | 'api' | 'worker';

export interface AtelierServer {
  /** Empty for a worker-only process. */
  url: string;
  /** The metrics listener's http://host:port (GET /metrics), or null without ATELIER_METRICS_PORT. */
  metricsUrl: string | null;
  port: number;
  role: Role;
  queue: JobQueue;
  pubsub: PubSub;
  engine: Engine | null;
  /** The render sweeps (a worker's), to run on demand. */
  sweeps: RenderSweeps | null;
  adminToken: string | undefined;
  /** The file keeping the generated operator token (embedded default); null when the environment gives it. */
  adminTokenFile: string | null;
  /** True when this start generated the operator token (the only start that prints it). */
  adminTokenGenerated: boolean;
  /** The demo tenant's credentials when the demo is on (see src/demo/); created: by this start; keptAt: where they are kept. */
  demo: (DemoCredentials & { created: boolean; keptAt: string }) | null;
  services: Services;
  /** Per-tenant catalog versions (what the GraphQL response cache is keyed by). */
  catalogVersions: CatalogVersions;
  db: Database;
  logger: Logger;
  /** Drains HTTP and WebSocket, then closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Default 'all'. */
  role?: Role;
  /** Overrides the database chosen by the config (tests use an in-memory PGlite). */
  database?: DatabaseTarget;
  logger?: Logger;
  /** BullMQ timing (tests shorten the stalled-job check). */
  bullmq?: BullMqOptions;
  sweeps?: SweepOptions;
  /** Where webhooks are notified; default: nowhere. */
  notifier?: EventNotifier;
  /**
   * true: create the demo tenant when missing, whatever the config says; false: never.
   * Default: the config's ATELIER_DEMO (auto seeds on the embedded default's first start,
   * never when `database` is given, so tests get no demo unless they ask).
   */
  demo?: boolean;
  /** The built web app; default dist/web of the project. */
  webAppDir?: string | null;
  /** A silent progress subscription re-reads its render after this long (ms); default 10000. */
  progressResyncMs?: number;
  /** At least this long (ms) between two previews of a render; default 500. */
  previewIntervalMs?: number;
}

/** Derives a purpose-specific key so one configured secret never signs two kinds of thing. */
export function deriveSecret(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(purpose).digest('base64url');
}

function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/** "name@version" of the model package, or a placeholder when none is installed. */
export function modelId(modelDir: string): string {
  const manifestPath = join(resolve(projectRoot, modelDir), 'manifest.json');
  if (!existsSync(manifestPath)) return 'tryon-tiny@1';
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string; version: string };
  return `${manifest.name}@${manifest.version}`;
}

/** Files under the data directory, or the configured bucket (credentials: the SDK's chain). */
function blobStoreSettings(config: Config): BlobStoreSettings {
  const blobStore = config.blobStore;
  if (blobStore.kind === 'file') return { kind: 'file', root: join(config.dataDir, 'blobs') };
  return { kind: 's3', bucket: blobStore.bucket, prefix: blobStore.prefix, endpoint: blobStore.endpoint, region: blobStore.region };
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<AtelierServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  // Read before anything is written there: "first start" means an empty data directory.
  const firstStart = isEmptyDir(config.dataDir);
  // Private to the server's user (data-dir.ts); unused with DATABASE_URL and an S3 bucket.
  const usesDataDir = !config.databaseUrl || config.blobStore.kind === 'file';
  const tightenCreated = usesDataDir ? preparePrivateDataDir(config.dataDir, logger) : () => undefined;
  const secrets = loadSecrets(config);
  const target: DatabaseTarget =
    options.database ??
    (config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'embedded', dataDir: join(config.dataDir, 'db') });
  // Opened (and an S3 bucket checked) before the database, so a bad bucket stops start-up at once.
  const blobStore = await openBlobStore(blobStoreSettings(config));
  const blobs = blobStore.store;
  const db = await openDatabase(target);
  tightenCreated();
  const fileSigner = new UrlSigner({ secrets: secrets.signingSecrets.map((s) => deriveSecret(s, 'files')), basePath: '/files' });
  const uploadSigner = new UrlSigner({ secrets: secrets.signingSecrets.map((s) => deriveSecret(s, 'uploads')), basePath: '/uploads' });
  const role = options.role ?? 'all';
  const queue: JobQueue = config.redisUrl
    ? new BullMqJobQueue(config.redisUrl, {
        lockDurationMs: config.jobLockMs,
        stalledIntervalMs: Math.ceil(config.jobLockMs / 2),
        ...options.bullmq,
      })
    : new InProcessJobQueue((name, id, error) => logger.error({ err: error, job: name, jobId: id }, 'job failed on its last attempt'));
  const pubsub: PubSub = config.redisUrl ? new RedisPubSub(config.redisUrl) : new InProcessPubSub();
  const model = modelId(config.modelDir);

  const catalogVersions = new CatalogVersions(pubsub, logger);
  const stopFollowingCatalog = await catalogVersions.follow();

  let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const services = createServices({
    catalogVersions,
    webhookPrivateNetworks: config.webhookPrivateNetworks,
    webhookMaxEndpoints: config.webhookMaxEndpoints,
    db,
    blobs,
    fileSigner,
    uploadSigner,
    sessionSecrets: secrets.signingSecrets.map((s) => deriveSecret(s, 'sessions')),
    operatorToken: secrets.adminToken,
    publicUrl: () => publicUrl,
    defaultModel: model,
    queue,
    pubsub,
    logger,
    webhookSecrets: secrets.signingSecrets,
    quotas: config.quotas,
    progressResyncMs: options.progressResyncMs,
  });

  const stopFollowingRevocations = await services.authenticator.followRevocations(pubsub);

  // The worker: the engine runs in its own thread, so the API's event loop stays free.
  let engine: Engine | null = null;
  let worker: WorkerJobs | null = null;
  if (role !== 'api') {
    engine = await createEngine({
      modelDir: resolve(projectRoot, config.modelDir),
      threads: config.workerThreads,
      nice: config.engineNice,
      hotCacheBytes: config.referenceCacheBytes,
      executionProviders: config.executionProviders,
      onWarning: (message) => logger.warn(message),
    });
    logger.info(
      { model: engine.model.id, executionProviders: engine.executionProviders.used, graphs: engine.executionProviders.graphs },
      'inference engine ready',
    );
    worker = await startWorkerJobs({
      db,
      engine,
      blobs,
      queue,
      pubsub,
      catalogVersions,
      uploads: services.uploads,
      logger,
      notifier: options.notifier ?? services.webhooks,
      renderConcurrency: config.renderConcurrency,
      previewIntervalMs: options.previewIntervalMs,
      // An eighth of the reference cache's budget (64 MB by default; none when that cache is off).
      photoBytesHeld: Math.floor(config.referenceCacheBytes / 8),
      sweeps: options.sweeps,
      // An in-process queue starts empty: resume what the last run left QUEUED or RUNNING.
      resume: !config.redisUrl,
    });
    services.webhooks.processDeliveries();
  }

  // Rate-limit buckets and WebSocket connection counts: in Redis when there is one (over one
  // connection), so every API process shares them.
  const limitsRedis = config.redisUrl ? new LimitsRedis(config.redisUrl, logger) : null;
  const buckets = limitsRedis ? new RedisTokenBuckets(limitsRedis, config.rateKeyPrefix) : new MemoryTokenBuckets();
  const rateLimiter = new RateLimiter(buckets, config.rateLimits);

  // The demo tenant (src/demo/): API processes create it when asked and serve its session endpoint.
  let demo: AtelierServer['demo'] = null;
  let demoSessions: DemoSessions | null = null;
  const wantDemo = demoWanted(config.demo, {
    forced: options.demo,
    firstStart,
    embedded: !config.databaseUrl,
    databaseOverridden: options.database !== undefined,
  });
  if (role !== 'worker' && (options.demo ?? config.demo !== 'off')) {
    const samples = readDemoSamples(join(resolve(projectRoot, config.modelDir), 'samples'));
    // Kept beside the tenant's data: processes on PostgreSQL and S3 share no directory, so the
    // bucket; otherwise the data directory (the embedded database's home, or the shared volume).
    const keeper = config.databaseUrl && config.blobStore.kind === 's3' ? demoCredentialsBlob(blobs) : demoCredentialsFile(config.dataDir);
    const existing = await keeper.read();
    if (existing) demo = { ...existing, created: false, keptAt: keeper.location };
    else if (wantDemo && samples)
      demo = { ...(await seedDemoTenant(services, samples, keeper, logger)), created: true, keptAt: keeper.location };
    else if (wantDemo) logger.warn({ modelDir: config.modelDir }, 'no demo tenant: the model package has no samples/index.json');
    if (demo) demoSessions = new DemoSessions(services, demo, samples, config.demoAccess, buckets);
  }

  const maxConnections = config.webSocket.maxConnectionsPerToken;
  const connectionLimiter = limitsRedis
    ? new RedisConnectionLimiter(limitsRedis, config.rateKeyPrefix, maxConnections)
    : new MemoryConnectionLimiter(maxConnections);
  // Any role: a worker's process metrics are worth a scrape too.
  const metricsServer = config.metricsListener
    ? await startMetricsServer({ metrics, port: config.metricsListener.port, host: config.metricsListener.host, logger })
    : null;
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'serving metrics');
  let transport: GraphQLTransport | null = null;
  let httpServer: Server | null = null;
  let port = 0;
  if (role !== 'worker') {
    const app = createHttpApp({
      db,
      blobs,
      fileSigner,
      uploads: services.uploads,
      logger,
      metrics,
      graphql: () => transport,
      operatorToken: secrets.adminToken,
      corsOrigins: config.corsOrigins,
      demo: demoSessions,
      webAppDir: options.webAppDir === undefined ? join(projectRoot, 'dist', 'web') : options.webAppDir,
      publicUrl: () => publicUrl,
    });
    const server = createExpressServer(app);
    answerClientErrors(server);
    continueOnlyWhenRead(server);
    httpServer = server;
    transport = await createGraphQLTransport({
      httpServer: server,
      services,
      catalogVersions,
      logger,
      metrics,
      limits: {
        query: { ...config.queryLimits, introspection: config.introspection ?? target.kind === 'embedded' },
        maxBatchSize: config.maxBatchSize,
        rateLimiter,
        connectionLimiter,
        webSocket: config.webSocket,
      },
    });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolveListen());
    });
    port = (server.address() as AddressInfo).port;
    if (!config.publicUrl) publicUrl = `http://localhost:${port}`;
  }
  if (secrets.adminTokenGenerated) {
    logger.info({ adminTokenFile: join(config.dataDir, 'admin-token') }, 'generated the operator token (createTenant)');
  }

  let closing: Promise<void> | null = null;
  return {
    url: httpServer ? `http://localhost:${port}` : '',
    metricsUrl: metricsServer?.url ?? null,
    port,
    role,
    queue,
    pubsub,
    engine,
    sweeps: worker?.renderSweeps ?? null,
    adminToken: secrets.adminToken,
    adminTokenFile: secrets.adminTokenFile,
    adminTokenGenerated: secrets.adminTokenGenerated,
    demo,
    services,
    catalogVersions,
    db,
    logger,
    close() {
      closing ??= (async () => {
        const step = async (name: string, work: () => Promise<unknown> | undefined) => {
          await work();
          logger.debug({ step: name }, 'shutdown step done');
        };
        await step('http and websocket', () => transport?.close());
        await step('metrics listener', () => metricsServer?.close());
        await step('limits', async () => {
          await Promise.all([rateLimiter.close(), connectionLimiter.close()]);
          await limitsRedis?.close();
        });
        await step('sweeps', () => worker?.stop());
        await step('queue', () => queue.close());
        await step('engine', () => engine?.close());
        await step('pubsub', async () => {
          await stopFollowingRevocations();
          await stopFollowingCatalog();
          await pubsub.close();
        });
        await step('database', () => db.close());
        await step('blob store', async () => blobStore.close());
      })();
      return closing;
    },
  };
}
