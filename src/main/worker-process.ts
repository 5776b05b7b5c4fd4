// The worker process over the platform: the inference engine (in threads of its own, so the
// API's event loop stays free), the jobs it takes from the queue, the sweeps that repair what a
// crash left behind, and webhook deliveries.
import { resolve } from 'node:path';
import { createEngine, type Engine } from '../inference';
import { InferenceJobs, type EventNotifier } from '../worker/inference-jobs';
import { Sweeps, type SweepOptions } from '../worker/sweeps';
import { GarmentRepository } from '../garments/garment-repository';
import { PhotoRepository } from '../photos/photo-repository';
import { OutfitRepository } from '../outfits/outfit-repository';
import { RenderRepository } from '../renders/render-repository';
import { projectRoot } from '../common/project-paths';
import type { Platform } from './platform';
import type { Services } from './services';

export interface WorkerOptions {
  sweeps?: SweepOptions;
  /** Where webhooks are notified; default: the webhook service. */
  notifier?: EventNotifier;
  /** At least this long (ms) between two previews of a render; default 500. */
  previewIntervalMs?: number;
}

export interface WorkerProcess {
  engine: Engine;
  sweeps: Sweeps;
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

  // The render pipeline's jobs (garment caches, person encodings, renders) and its sweeps.
  const renderRepository = new RenderRepository(db);
  const garmentRepository = new GarmentRepository(db, platform.catalogVersions);
  const photoRepository = new PhotoRepository(db);
  new InferenceJobs({
    engine,
    blobs,
    queue,
    pubsub,
    garments: garmentRepository,
    photos: photoRepository,
    outfits: new OutfitRepository(db),
    renders: renderRepository,
    notifier: options.notifier ?? services.webhooks,
    logger,
    renderConcurrency: config.renderConcurrency,
    previewIntervalMs: options.previewIntervalMs,
    // An eighth of the reference cache's budget (64 MB by default; none when that cache is off).
    photoBytesHeld: Math.floor(config.referenceCacheBytes / 8),
  }).start();
  const sweeps = new Sweeps(
    { renders: renderRepository, garments: garmentRepository, photos: photoRepository, uploads: services.uploads, queue, blobs, logger },
    options.sweeps,
  );

  // An in-process queue starts empty: resume what the last run left QUEUED or RUNNING.
  if (!config.redisUrl) await sweeps.resumeAll();
  sweeps.start();
  services.webhooks.processDeliveries();
  return {
    engine,
    sweeps,
    async close() {
      await sweeps.stop();
      // Running jobs use the engine: the queue stops first (the platform's close finds it closed).
      await platform.closeQueue();
      await engine.close();
    },
  };
}
