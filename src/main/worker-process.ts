// The worker process over the platform: the inference engine (in threads of its own, so the
// API's event loop stays free), the jobs it takes from the queue, the sweeps that repair what a
// crash left behind, and webhook deliveries.
import { resolve } from 'node:path';
import { createEngine, type Engine } from '../inference';
import type { EventNotifier } from '../webhooks/webhook-events';
import type { RenderSweeps } from '../renders/render-jobs';
import { projectRoot } from '../common/project-paths';
import type { Platform } from './platform';
import type { Services } from './services';
import { startWorkerJobs, type SweepOptions } from './worker-jobs';

export interface WorkerOptions {
  sweeps?: SweepOptions;
  /** Where webhooks are notified; default: the webhook service. */
  notifier?: EventNotifier;
  /** At least this long (ms) between two previews of a render; default 500. */
  previewIntervalMs?: number;
}

export interface WorkerProcess {
  engine: Engine;
  /** The render sweeps, also run on demand (tests). */
  sweeps: RenderSweeps;
  /** Stops the sweeps and the queue's intake (running jobs finish), then the engine. */
  close(): Promise<void>;
}

async function startEngine(platform: Platform): Promise<Engine> {
  const { config, logger } = platform;
  const engine = await createEngine({
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
  return engine;
}

export async function startWorker(platform: Platform, services: Services, options: WorkerOptions = {}): Promise<WorkerProcess> {
  const { config, db, blobs, queue, pubsub, logger } = platform;
  const engine = await startEngine(platform);

  // Each domain registers its engine jobs and gives its sweeps (worker-jobs.ts).
  const jobs = await startWorkerJobs({
    db,
    engine,
    blobs,
    queue,
    pubsub,
    catalogVersions: platform.catalogVersions,
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
  return {
    engine,
    sweeps: jobs.renderSweeps,
    async close() {
      await jobs.stop();
      // Running jobs use the engine: the queue stops first (the platform's close finds it closed).
      await platform.closeQueue();
      await engine.close();
    },
  };
}
