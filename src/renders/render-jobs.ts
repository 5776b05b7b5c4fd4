// The render's job in the queue: enqueueing it (the API on requestRender, the sweep), how
// many attempts it gets, and the render sweeps: re-enqueue renders whose job was lost, delete
// results past their tenant's retention. The job itself is render-runner.ts.
import type { BlobStore } from '../blobs';
import { backlogPriority, type JobQueue } from '../jobs/job-queue';
import type { Sweep } from '../jobs/sweeper';
import type { Logger } from '../observability/logger';
import type { RenderRepository } from './render-repository';

/** Attempts of a render: its job's tries in the queue, and the starts a render may have (a worker that stops mid-render costs one). */
export const MAX_RENDER_ATTEMPTS = 3;

/**
 * Enqueues the render job (also used by the sweep that re-enqueues lost jobs). `place`: its
 * place in its tenant's backlog, so tenants take turns for the workers' slots (job-queue.ts).
 */
export function enqueueRender(queue: JobQueue, tenantId: string, renderId: string, place: number): Promise<void> {
  // Worker deaths are retried by the queue's stalled-job handling and the render's own attempt count.
  return queue.enqueue(
    'render',
    { tenantId, renderId },
    { jobId: renderId, attempts: MAX_RENDER_ATTEMPTS, backoffMs: 1000, priority: backlogPriority(place), group: tenantId },
  );
}

export interface RenderSweepDeps {
  renders: RenderRepository;
  queue: JobQueue;
  blobs: BlobStore;
  logger: Logger;
}

export interface RenderSweepOptions {
  /** A QUEUED render older than this gets its job enqueued again (ms). Default 30000. */
  queuedGraceMs?: number;
  /** A RUNNING render without a heartbeat for this long gets its job enqueued again (ms). Default 60000. */
  heartbeatGraceMs?: number;
}

export class RenderSweeps {
  constructor(private readonly deps: RenderSweepDeps) {}

  /** Enqueues the job of every render QUEUED since before `queuedBefore` or RUNNING without a heartbeat since `heartbeatBefore`. */
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

  /** Both sweeps, for the sweeper: lost renders first (at start-up, every active one), then expired results. */
  sweeps(options: RenderSweepOptions = {}): Sweep[] {
    const queuedGraceMs = options.queuedGraceMs ?? 30_000;
    const heartbeatGraceMs = options.heartbeatGraceMs ?? 60_000;
    return [
      {
        run: (now) => this.requeueStale(new Date(now.getTime() - queuedGraceMs), new Date(now.getTime() - heartbeatGraceMs)),
        resume: (now) => this.requeueStale(now, now),
      },
      { run: (now) => this.deleteExpiredResults(now) },
    ];
  }
}
