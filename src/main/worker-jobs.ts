// The worker's part of the composition: each domain registers its engine jobs (reference
// caches, person encodings, renders) and gives its sweeps; nothing here runs a job itself.
import type { Database } from '../db/database';
import type { BlobStore } from '../blobs';
import type { Engine } from '../inference';
import type { JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import { Sweeper } from '../jobs/sweeper';
import type { Logger } from '../observability/logger';
import type { CatalogVersions } from '../garments/catalog-versions';
import { GarmentRepository } from '../garments/garment-repository';
import { pendingReferenceCacheSweep, registerReferenceCacheJobs } from '../garments/reference-cache-jobs';
import { PhotoRepository } from '../photos/photo-repository';
import { pendingPersonEncodingSweep, registerPersonEncodingJobs } from '../photos/person-encoding-jobs';
import { RenderRepository } from '../renders/render-repository';
import { registerRenderJobs } from '../renders/render-runner';
import { RenderSweeps, type RenderSweepOptions } from '../renders/render-jobs';
import { expiredUploadsSweep } from '../uploads/expired-uploads-sweep';
import type { UploadService } from '../uploads/upload-service';
import type { EventNotifier } from '../webhooks/webhook-events';

export interface SweepOptions extends RenderSweepOptions {
  /** How often the sweeps run (ms). Default 15000. */
  intervalMs?: number;
  /** A reference cache or person encoding PENDING for this long gets its job enqueued again (ms). Default 60000. */
  pendingCacheGraceMs?: number;
}

export interface WorkerJobsDeps {
  db: Database;
  engine: Engine;
  blobs: BlobStore;
  queue: JobQueue;
  pubsub: PubSub;
  catalogVersions: CatalogVersions;
  uploads: UploadService;
  notifier: EventNotifier;
  logger: Logger;
  /** Renders run at once in this worker (they share denoiser calls). Default 4. */
  renderConcurrency?: number;
  /** At least this long (ms) between two previews of a render. Default 500. */
  previewIntervalMs?: number;
  /** Bytes of person photos' images held between renders. Default 0. */
  photoBytesHeld?: number;
  sweeps?: SweepOptions;
  /** The queue starts empty (in-process): enqueue again what the last run left waiting. */
  resume: boolean;
}

export interface WorkerJobs {
  /** The render sweeps, also run on demand (tests). */
  renderSweeps: RenderSweeps;
  /** Stops the sweeps (the queue stops the jobs). */
  stop(): Promise<void>;
}

/** Registers every engine job in this process and starts the sweeps. */
export async function startWorkerJobs(deps: WorkerJobsDeps): Promise<WorkerJobs> {
  const { engine, blobs, queue, pubsub, logger } = deps;
  const garments = new GarmentRepository(deps.db, deps.catalogVersions);
  const photos = new PhotoRepository(deps.db);
  const renders = new RenderRepository(deps.db);
  const referenceCaches = registerReferenceCacheJobs({ engine, blobs, queue, pubsub, garments, notifier: deps.notifier, logger });
  const personEncodings = registerPersonEncodingJobs({ engine, blobs, queue, pubsub, photos, logger, photoBytesHeld: deps.photoBytesHeld });
  const runnerDeps = { engine, blobs, pubsub, renders, referenceCaches, personEncodings, notifier: deps.notifier, logger };
  registerRenderJobs(queue, { ...runnerDeps, previewIntervalMs: deps.previewIntervalMs }, deps.renderConcurrency);

  const options = deps.sweeps ?? {};
  const pendingGraceMs = options.pendingCacheGraceMs ?? 60_000;
  const renderSweeps = new RenderSweeps({ renders, queue, blobs, logger });
  const sweeper = new Sweeper(
    [
      pendingReferenceCacheSweep({ garments, queue, logger }, pendingGraceMs),
      pendingPersonEncodingSweep({ photos, queue, logger }, pendingGraceMs),
      ...renderSweeps.sweeps(options),
      expiredUploadsSweep({ uploads: deps.uploads, logger }),
    ],
    logger,
    options.intervalMs,
  );
  if (deps.resume) await sweeper.resumeAll();
  sweeper.start();
  return { renderSweeps, stop: () => sweeper.stop() };
}
