// The composition root: builds every part from the configuration, in one place, and
// starts the HTTP + WebSocket server. Nothing else creates long-lived objects.
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openDatabase, type Database, type DatabaseTarget } from '../db/database';
import { FileBlobStore, UrlSigner } from '../blobs';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import { answerClientErrors, createHttpApp } from '../http/http-app';
import { createGraphQLTransport, type GraphQLTransport } from '../graphql/server';
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
import { InferenceJobs, type EventNotifier } from '../worker/inference-jobs';
import { Sweeps, type SweepOptions } from '../worker/sweeps';
import { GarmentRepository } from '../garments/garment-repository';
import { PhotoRepository } from '../photos/photo-repository';
import { OutfitRepository } from '../outfits/outfit-repository';
import { RenderRepository } from '../renders/render-repository';

/** What a process runs: the API, the worker (engine jobs and sweeps), or both. */
export type Role = 'all' | 'api' | 'worker';

export interface AtelierServer {
  /** Empty for a worker-only process. */
  url: string;
  port: number;
  role: Role;
  queue: JobQueue;
  pubsub: PubSub;
  engine: Engine | null;
  sweeps: Sweeps | null;
  adminToken: string | undefined;
  services: Services;
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
  /** A silent progress subscription re-reads its render after this long (ms); default 10000. */
  progressResyncMs?: number;
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

export async function startServer(config: Config, options: StartOptions = {}): Promise<AtelierServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const secrets = loadSecrets(config);
  const target: DatabaseTarget =
    options.database ??
    (config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'embedded', dataDir: join(config.dataDir, 'db') });
  const db = await openDatabase(target);
  const blobs = new FileBlobStore(join(config.dataDir, 'blobs'));
  const fileSigner = new UrlSigner({ secrets: secrets.signingSecrets.map((s) => deriveSecret(s, 'files')), basePath: '/files' });
  const uploadSigner = new UrlSigner({ secrets: secrets.signingSecrets.map((s) => deriveSecret(s, 'uploads')), basePath: '/uploads' });
  const role = options.role ?? 'all';
  const queue: JobQueue = config.redisUrl
    ? new BullMqJobQueue(config.redisUrl, { lockDurationMs: config.jobLockMs, stalledIntervalMs: Math.ceil(config.jobLockMs / 2), ...options.bullmq })
    : new InProcessJobQueue((name, id, error) => logger.error({ err: error, job: name, jobId: id }, 'job failed on its last attempt'));
  const pubsub: PubSub = config.redisUrl ? new RedisPubSub(config.redisUrl) : new InProcessPubSub();
  const model = modelId(config.modelDir);

  let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const services = createServices({
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
    progressResyncMs: options.progressResyncMs,
  });

  // The worker: the engine runs in its own thread, so the API's event loop stays free.
  let engine: Engine | null = null;
  let sweeps: Sweeps | null = null;
  if (role !== 'api') {
    engine = await createEngine({ modelDir: resolve(projectRoot, config.modelDir), threads: config.workerThreads });
    const renderRepository = new RenderRepository(db);
    new InferenceJobs({
      engine,
      blobs,
      queue,
      pubsub,
      garments: new GarmentRepository(db),
      photos: new PhotoRepository(db),
      outfits: new OutfitRepository(db),
      renders: renderRepository,
      notifier: options.notifier ?? services.webhooks,
      logger,
      renderConcurrency: config.renderConcurrency,
    }).start();
    sweeps = new Sweeps(renderRepository, queue, blobs, logger, options.sweeps);
    // An in-process queue starts empty: resume what the last run left QUEUED or RUNNING.
    if (!config.redisUrl) await sweeps.resumeAll();
    sweeps.start();
    services.webhooks.processDeliveries();
  }

  let transport: GraphQLTransport | null = null;
  let httpServer: Server | null = null;
  let port = 0;
  if (role !== 'worker') {
    const app = createHttpApp({ db, blobs, fileSigner, uploads: services.uploads, logger, metrics, graphql: () => transport?.middleware ?? null });
    const server = createServer(app);
    answerClientErrors(server);
    httpServer = server;
    transport = await createGraphQLTransport({ httpServer: server, services, logger, metrics, introspection: target.kind === 'embedded' });
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
    port,
    role,
    queue,
    pubsub,
    engine,
    sweeps,
    adminToken: secrets.adminToken,
    services,
    db,
    logger,
    close() {
      closing ??= (async () => {
        const step = async (name: string, work: () => Promise<unknown> | undefined) => {
          await work();
          logger.debug({ step: name }, 'shutdown step done');
        };
        await step('http and websocket', () => transport?.close());
        await step('sweeps', () => sweeps?.stop());
        await step('queue', () => queue.close());
        await step('engine', () => engine?.close());
        await step('pubsub', () => pubsub.close());
        await step('database', () => db.close());
      })();
      return closing;
    },
  };
}
