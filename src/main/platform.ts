// The platform every process stands on, derived from the configuration: logger, metrics,
// secrets, blob store, database, job queue, pub/sub, catalog versions and the limits' storage.
// The API (api-process.ts) and the worker (worker-process.ts) are composed over it; with role
// 'all' both share one. The domain services (services.ts) are built here too, once the public
// URL is known.
import { createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDatabase, type Database, type DatabaseTarget } from '../db/database';
import { UrlSigner, openBlobStore, type BlobStore, type BlobStoreSettings } from '../blobs';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics, type Metrics } from '../observability/metrics';
import { startMetricsServer } from '../observability/metrics-server';
import { LimitsRedis, MemoryTokenBuckets, RedisTokenBuckets, type TokenBuckets } from '../limits';
import type { JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import { InProcessJobQueue } from '../jobs/in-process-queue';
import { InProcessPubSub } from '../jobs/in-process-pubsub';
import { BullMqJobQueue, type BullMqOptions } from '../jobs/bullmq-queue';
import { RedisPubSub } from '../jobs/redis-pubsub';
import { CatalogVersions } from '../garments/catalog-versions';
import { projectRoot } from '../common/project-paths';
import type { Config } from './config';
import { loadSecrets, type Secrets } from './secrets';
import { preparePrivateDataDir } from './data-dir';
import { createServices, type Services } from './services';

/** What a process runs: the API, the worker (engine jobs and sweeps), or both. */
export type Role = 'all' | 'api' | 'worker';

export interface PlatformOptions {
  /** Overrides the database chosen by the config (tests use an in-memory PGlite). */
  database?: DatabaseTarget;
  logger?: Logger;
  /** BullMQ timing (tests shorten the stalled-job check). */
  bullmq?: BullMqOptions;
}

export interface Platform {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  secrets: Secrets;
  /** True when the data directory was empty at start (the embedded default's first start). */
  firstStart: boolean;
  /** True when the database was given by the caller, not chosen by the config (tests). */
  databaseOverridden: boolean;
  db: Database;
  blobs: BlobStore;
  fileSigner: UrlSigner;
  uploadSigner: UrlSigner;
  queue: JobQueue;
  pubsub: PubSub;
  /** Per-tenant catalog versions (what the GraphQL response cache is keyed by). */
  catalogVersions: CatalogVersions;
  /** Where rate-limit buckets and WebSocket connection counts live: Redis when there is one, so every API process shares them. */
  limitsRedis: LimitsRedis | null;
  buckets: TokenBuckets;
  /** "name@version" of the model package. */
  defaultModel: string;
  /** The metrics listener's http://host:port (GET /metrics), or null without ATELIER_METRICS_PORT. */
  metricsUrl: string | null;
  /** Stops the queue's intake and waits for running jobs (with Redis down, for a bounded time); once, however often called. */
  closeQueue(): Promise<void>;
  /** Closes what opened here (the queue too, unless closed already), the database and blob store last. */
  close(): Promise<void>;
}

/** Derives a purpose-specific key so one configured secret never signs two kinds of thing. */
export function deriveSecret(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(purpose).digest('base64url');
}

/** "name@version" of the model package, or a placeholder when none is installed. */
export function modelId(modelDir: string): string {
  const manifestPath = join(resolve(projectRoot, modelDir), 'manifest.json');
  if (!existsSync(manifestPath)) return 'tryon-tiny@1';
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string; version: string };
  return `${manifest.name}@${manifest.version}`;
}

function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/** Files under the data directory, or the configured bucket (credentials: the SDK's chain). */
function blobStoreSettings(config: Config): BlobStoreSettings {
  const blobStore = config.blobStore;
  if (blobStore.kind === 'file') return { kind: 'file', root: join(config.dataDir, 'blobs') };
  return { kind: 's3', bucket: blobStore.bucket, prefix: blobStore.prefix, endpoint: blobStore.endpoint, region: blobStore.region };
}

function databaseTarget(config: Config): DatabaseTarget {
  return config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'embedded', dataDir: join(config.dataDir, 'db') };
}

/** BullMQ on Redis when there is one; else in this process. */
function createQueue(config: Config, logger: Logger, bullmq: BullMqOptions | undefined): JobQueue {
  if (!config.redisUrl) {
    return new InProcessJobQueue((name, id, error) => logger.error({ err: error, job: name, jobId: id }, 'job failed on its last attempt'));
  }
  const timing = { lockDurationMs: config.jobLockMs, stalledIntervalMs: Math.ceil(config.jobLockMs / 2) };
  return new BullMqJobQueue(config.redisUrl, { ...timing, ...bullmq });
}

export async function openPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  // Read before anything is written there: "first start" means an empty data directory.
  const firstStart = isEmptyDir(config.dataDir);
  // Private to the server's user (data-dir.ts); unused with DATABASE_URL and an S3 bucket.
  const usesDataDir = !config.databaseUrl || config.blobStore.kind === 'file';
  const tightenCreated = usesDataDir ? preparePrivateDataDir(config.dataDir, logger) : () => undefined;
  const secrets = loadSecrets(config);
  // Opened (and an S3 bucket checked) before the database, so a bad bucket stops start-up at once.
  const blobStore = await openBlobStore(blobStoreSettings(config));
  const db = await openDatabase(options.database ?? databaseTarget(config));
  tightenCreated();
  const signer = (purpose: string, basePath: string) =>
    new UrlSigner({ secrets: secrets.signingSecrets.map((s) => deriveSecret(s, purpose)), basePath });
  const queue = createQueue(config, logger, options.bullmq);
  let queueClosed: Promise<void> | null = null;
  const closeQueue = () => (queueClosed ??= queue.close());
  const pubsub: PubSub = config.redisUrl ? new RedisPubSub(config.redisUrl) : new InProcessPubSub();
  const catalogVersions = new CatalogVersions(pubsub, logger);
  const stopFollowingCatalog = await catalogVersions.follow();
  // Rate-limit buckets and WebSocket connection counts: in Redis when there is one (over one connection).
  const limitsRedis = config.redisUrl ? new LimitsRedis(config.redisUrl, logger) : null;
  // Any role: a worker's process metrics are worth a scrape too.
  const metricsServer = config.metricsListener
    ? await startMetricsServer({ metrics, port: config.metricsListener.port, host: config.metricsListener.host, logger })
    : null;
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'serving metrics');
  if (secrets.adminTokenGenerated) {
    logger.info({ adminTokenFile: join(config.dataDir, 'admin-token') }, 'generated the operator token (createTenant)');
  }
  return {
    config,
    logger,
    metrics,
    secrets,
    firstStart,
    databaseOverridden: options.database !== undefined,
    db,
    blobs: blobStore.store,
    queue,
    pubsub,
    catalogVersions,
    limitsRedis,
    fileSigner: signer('files', '/files'),
    uploadSigner: signer('uploads', '/uploads'),
    buckets: limitsRedis ? new RedisTokenBuckets(limitsRedis, config.rateKeyPrefix) : new MemoryTokenBuckets(),
    defaultModel: modelId(config.modelDir),
    metricsUrl: metricsServer?.url ?? null,
    closeQueue,
    async close() {
      await metricsServer?.close();
      await limitsRedis?.close();
      await closeQueue();
      await stopFollowingCatalog();
      await pubsub.close();
      await db.close();
      await blobStore.close();
    },
  };
}

export interface SharedServices {
  services: Services;
  /** Stops hearing of API key revocations. */
  close(): Promise<void>;
}

/**
 * The domain services over the platform, shared by the API and the worker. `publicUrl`: the
 * base of the file and upload links they hand out.
 */
export async function startServices(
  platform: Platform,
  publicUrl: string,
  options: { progressResyncMs?: number } = {},
): Promise<SharedServices> {
  const { config, secrets } = platform;
  const services = createServices({
    db: platform.db,
    blobs: platform.blobs,
    queue: platform.queue,
    pubsub: platform.pubsub,
    logger: platform.logger,
    catalogVersions: platform.catalogVersions,
    webhookPrivateNetworks: config.webhookPrivateNetworks,
    webhookMaxEndpoints: config.webhookMaxEndpoints,
    fileSigner: platform.fileSigner,
    uploadSigner: platform.uploadSigner,
    sessionSecrets: secrets.signingSecrets.map((s) => deriveSecret(s, 'sessions')),
    operatorToken: secrets.adminToken,
    publicUrl: () => publicUrl,
    defaultModel: platform.defaultModel,
    webhookSecrets: secrets.signingSecrets,
    quotas: config.quotas,
    progressResyncMs: options.progressResyncMs,
  });
  const stopFollowingRevocations = await services.authenticator.followRevocations(platform.pubsub);
  return { services, close: stopFollowingRevocations };
}
