// Periodic maintenance run by workers: re-enqueue renders, reference caches and person
// encodings whose job was lost (an enqueue that failed after the row was written, a queue
// that lost its data, a process that stopped), delete results past their tenant's retention,
// and delete uploads an hour after their link expired. All are idempotent (jobs are
// deduplicated by id), so several workers may run them at once.
import type { BlobStore } from '../blobs';
import type { JobQueue } from '../jobs/job-queue';
import type { Logger } from '../observability/logger';
import type { RenderRepository } from '../renders/render-repository';
import { enqueueRender } from '../renders/render-service';
import type { GarmentRepository } from '../garments/garment-repository';
import type { PhotoRepository } from '../photos/photo-repository';
import type { UploadService } from '../uploads/upload-service';
import { enqueuePersonEncoding, enqueueReferenceCache } from './inference-jobs';

export interface SweepOptions {
  /** How often the sweeps run (ms). Default 15000. */
  intervalMs?: number;
  /** A QUEUED render older than this gets its job enqueued again (ms). Default 30000. */
  queuedGraceMs?: number;
  /** A RUNNING render without a heartbeat for this long gets its job enqueued again (ms). Default 60000. */
  heartbeatGraceMs?: number;
  /** A reference cache or person encoding PENDING for this long gets its job enqueued again (ms). Default 60000. */
  pendingCacheGraceMs?: number;
}

export interface SweepDeps {
  renders: RenderRepository;
  garments: GarmentRepository;
  photos: PhotoRepository;
  uploads: UploadService;
  queue: JobQueue;
  blobs: BlobStore;
  logger: Logger;
}

export class Sweeps {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: SweepDeps,
    private readonly options: SweepOptions = {},
  ) {}

  /** Re-enqueues every active render and pending cache and encoding now (start-up of the embedded server: its queue was in memory). */
  async resumeAll(): Promise<number> {
    const future = new Date(Date.now() + 60_000);
    await this.requeuePendingCaches(future);
    await this.requeuePendingEncodings(future);
    return this.requeueStale(future, future);
  }

  /** Enqueues the job of every reference cache still PENDING since before `updatedBefore`. */
  async requeuePendingCaches(updatedBefore: Date): Promise<number> {
    const pending = await this.deps.garments.findStalePending(updatedBefore);
    for (const cache of pending) await enqueueReferenceCache(this.deps.queue, cache.tenantId, cache.garmentId, cache.model);
    if (pending.length > 0) this.deps.logger.info({ count: pending.length }, 'enqueued reference caches whose job was lost');
    return pending.length;
  }

  /** Enqueues the job of every person encoding still PENDING since before `updatedBefore`, so no photo is left to be encoded by its first render. */
  async requeuePendingEncodings(updatedBefore: Date): Promise<number> {
    const pending = await this.deps.photos.findStalePendingEncodings(updatedBefore);
    for (const encoding of pending) await enqueuePersonEncoding(this.deps.queue, encoding.tenantId, encoding.photoId, encoding.model);
    if (pending.length > 0) this.deps.logger.info({ count: pending.length }, 'enqueued person encodings whose job was lost');
    return pending.length;
  }

  async requeueStale(queuedBefore: Date, heartbeatBefore: Date): Promise<number> {
    const stale = await this.deps.renders.findStale(queuedBefore, heartbeatBefore);
    // Oldest first, so each tenant's renders keep their order and tenants take turns.
    const places = new Map<string, number>();
    for (const render of stale) {
      const place = (places.get(render.tenantId) ?? 0) + 1;
      places.set(render.tenantId, place);
      await enqueueRender(this.deps.queue, render.tenantId, render.id, place);
    }
    if (stale.length > 0) this.deps.logger.info({ count: stale.length }, 'enqueued renders whose job was lost');
    return stale.length;
  }

  async deleteExpiredResults(now = new Date()): Promise<number> {
    const expired = await this.deps.renders.findExpiredResults(now);
    for (const render of expired) {
      await this.deps.blobs.delete(render.resultKey);
      await this.deps.renders.markResultExpired(render.tenantId, render.id);
    }
    if (expired.length > 0) this.deps.logger.info({ count: expired.length }, 'deleted results past retention');
    return expired.length;
  }

  /** Deletes uploads (rows and staged bytes) an hour after their link expired, used or not. */
  async deleteExpiredUploads(now = new Date()): Promise<number> {
    const count = await this.deps.uploads.deleteExpired(now);
    if (count > 0) this.deps.logger.info({ count }, 'deleted expired uploads');
    return count;
  }

  async runOnce(): Promise<void> {
    const now = Date.now();
    await this.requeueStale(
      new Date(now - (this.options.queuedGraceMs ?? 30_000)),
      new Date(now - (this.options.heartbeatGraceMs ?? 60_000)),
    );
    await this.requeuePendingCaches(new Date(now - (this.options.pendingCacheGraceMs ?? 60_000)));
    await this.requeuePendingEncodings(new Date(now - (this.options.pendingCacheGraceMs ?? 60_000)));
    await this.deleteExpiredResults(new Date(now));
    await this.deleteExpiredUploads(new Date(now));
  }

  start(): void {
    const tick = () => {
      this.running = this.runOnce()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'sweep failed'))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setInterval(tick, this.options.intervalMs ?? 15_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
