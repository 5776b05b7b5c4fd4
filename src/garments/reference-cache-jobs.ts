// A garment's reference cache (the engine's encoding of its image, per model), worker side:
// the job that computes it (enqueued when a garment is created or its cache retried), the
// cache a render needs (computed on the spot when it is not READY), the sweep that enqueues
// caches whose job was lost, and dropping an archived garment's cache from the engine.
import { createHash, randomUUID } from 'node:crypto';
import type { Garment, ReferenceCache } from './garment-types';
import type { Engine, HotBlob, RenderGarment } from '../inference';
import { InferenceError, isPermanentEngineError } from '../inference/errors';
import type { BlobStore } from '../blobs';
import type { JobContext, JobQueue } from '../jobs/job-queue';
import type { Sweep } from '../jobs/sweeper';
import type { PubSub, Unsubscribe } from '../jobs/pubsub';
import { publish, subscribeEveryTenant } from '../jobs/channels';
import { modelKeyPart } from '../jobs/job-keys';
import type { Logger } from '../observability/logger';
import { toGlobalId } from '../common/ids';
import type { EventNotifier, WebhookEvent } from '../webhooks/webhook-events';
import type { GarmentRepository } from './garment-repository';
import { catalogChannel, garmentArchivedChannel } from './catalog-events';

/** Tries of a cache's job before its row is FAILED. */
const JOB_ATTEMPTS = 3;

const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Where a garment's reference cache for a model is stored (also its key in the engine's hot cache). */
const referenceCacheKey = (tenantId: string, garmentId: string, model: string) => `caches/${tenantId}/${garmentId}/${modelKeyPart(model)}`;

/** Enqueues computing a garment's reference cache (API: on createGarment and retryReferenceCache; the sweep). */
export function enqueueReferenceCache(queue: JobQueue, tenantId: string, garmentId: string, model: string): Promise<void> {
  return queue.enqueue(
    'reference-cache',
    { tenantId, garmentId, model },
    { jobId: `${garmentId}_${modelKeyPart(model)}`, attempts: JOB_ATTEMPTS, backoffMs: 1000 },
  );
}

/** The garment and its cache row for the model, as a render read them (RenderInputRows). */
export type RenderGarmentRows = {
  garment: Pick<Garment, 'id' | 'category' | 'imageKey'>;
  cache: Pick<ReferenceCache, 'id' | 'status' | 'blobKey' | 'checksum' | 'updatedAt'> | null;
};

export interface ReferenceCacheJobsDeps {
  engine: Engine;
  blobs: BlobStore;
  queue: JobQueue;
  pubsub: PubSub;
  garments: GarmentRepository;
  notifier: EventNotifier;
  logger: Logger;
}

export class ReferenceCacheJobs {
  constructor(private readonly deps: ReferenceCacheJobsDeps) {}

  private get model(): string {
    return this.deps.engine.model.id;
  }

  /** The job; a failure that another attempt would meet again (or the last attempt's) marks the cache FAILED. */
  async run(tenantId: string, garmentId: string, ctx: JobContext): Promise<void> {
    const { garments } = this.deps;
    const [garment] = await garments.findByIds(tenantId, [garmentId]);
    if (!garment) return;
    const cache = await garments.ensureCache(tenantId, garmentId, this.model, randomUUID());
    if (cache.status === 'READY') return;
    try {
      await this.compute(tenantId, garment, cache.id);
    } catch (error) {
      if (!isPermanentEngineError(error) && ctx.attempt < ctx.maxAttempts) throw error;
      const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
      await garments.markCacheFailed(tenantId, cache.id, message);
      await this.publishChange(tenantId, garmentId);
      await this.notify(tenantId, 'REFERENCE_CACHE_FAILED', {
        garmentId: toGlobalId('Garment', garmentId),
        model: this.model,
        error: message,
      });
    }
  }

  /**
   * A garment's reference cache for a render, from its row as the render read it: a hot blob
   * (key: its blob key, version: its checksum) that the engine reads only when it does not hold
   * it decoded; computed first when not READY (a new model version, a lost job, a job still
   * running), and again when its blob is gone. Time spent computing goes to `computed.referenceMs`.
   */
  async forRender(tenantId: string, { garment, cache: row }: RenderGarmentRows, computed: { referenceMs: number }): Promise<RenderGarment> {
    const compute = async (cacheId: string): Promise<Buffer> => {
      const started = performance.now();
      try {
        return await this.compute(tenantId, garment, cacheId);
      } finally {
        computed.referenceMs += performance.now() - started;
      }
    };
    if (row?.status === 'READY' && row.blobKey) {
      const blobKey = row.blobKey;
      const cacheId = row.id;
      const load = async (): Promise<Buffer> => (await this.deps.blobs.get(blobKey))?.data ?? compute(cacheId);
      return { category: garment.category, hot: { key: blobKey, version: row.checksum ?? `${row.id}@${row.updatedAt.getTime()}`, load } };
    }
    const cache = row ?? (await this.deps.garments.ensureCache(tenantId, garment.id, this.model, randomUUID()));
    const data = await compute(cache.id);
    const hot: HotBlob = { key: referenceCacheKey(tenantId, garment.id, this.model), version: sha256Hex(data), load: async () => data };
    return { category: garment.category, cache: data, hot };
  }

  /** An archived garment's K/V leave the engine's memory (renders still holding them finish). */
  followArchived(): Promise<Unsubscribe> {
    return subscribeEveryTenant(this.deps.pubsub, garmentArchivedChannel, ({ tenantId, garmentId }) => {
      this.deps.engine.forget([referenceCacheKey(tenantId, garmentId, this.model)]).catch(() => undefined);
    });
  }

  /** Encodes the garment, stores the cache blob, marks the row READY; returns the blob. */
  private async compute(tenantId: string, garment: RenderGarmentRows['garment'], cacheId: string): Promise<Buffer> {
    const image = await this.deps.blobs.get(garment.imageKey);
    if (!image) throw new InferenceError('INVALID_IMAGE', 'the garment image is missing from storage');
    const blob = await this.deps.engine.encodeReference(image.data, garment.category);
    const blobKey = referenceCacheKey(tenantId, garment.id, this.model);
    await this.deps.blobs.put(blobKey, blob.data, 'application/octet-stream');
    await this.deps.garments.markCacheReady(tenantId, cacheId, {
      blobKey,
      bytes: blob.bytes,
      checksum: blob.checksum,
      computeMs: blob.computeMs,
    });
    await this.publishChange(tenantId, garment.id);
    await this.notify(tenantId, 'REFERENCE_CACHE_READY', {
      garmentId: toGlobalId('Garment', garment.id),
      model: this.model,
      bytes: blob.bytes,
      computeMs: blob.computeMs,
    });
    return blob.data;
  }

  /** Live catalog pages learn of it (best effort: a lost event only delays what a reload shows). */
  private async publishChange(tenantId: string, garmentId: string): Promise<void> {
    await publish(this.deps.pubsub, catalogChannel(tenantId), garmentId).catch((error: unknown) =>
      this.deps.logger.warn({ err: error, tenantId, garmentId }, 'could not publish a reference cache change'),
    );
  }

  /** Webhook notification is best effort here: its failure must not fail (and retry) finished work. */
  private async notify(tenantId: string, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    await this.deps.notifier
      .notify(tenantId, event, data)
      .catch((error: unknown) => this.deps.logger.error({ err: error, tenantId, event }, 'could not record a webhook event'));
  }
}

/** Registers the reference-cache job in this worker and follows archived garments; returns the jobs (renders use them). */
export function registerReferenceCacheJobs(deps: ReferenceCacheJobsDeps): ReferenceCacheJobs {
  const jobs = new ReferenceCacheJobs(deps);
  deps.queue.process('reference-cache', (p, ctx) => jobs.run(p.tenantId, p.garmentId, ctx), { concurrency: 1 });
  jobs.followArchived().catch((error: unknown) => deps.logger.warn({ err: error }, 'could not follow archived garments'));
  return jobs;
}

export interface PendingCacheSweepDeps {
  garments: GarmentRepository;
  queue: JobQueue;
  logger: Logger;
}

/** Enqueues the job of every reference cache still PENDING since before `updatedBefore` (its job was lost). */
export async function requeuePendingReferenceCaches(deps: PendingCacheSweepDeps, updatedBefore: Date): Promise<number> {
  const pending = await deps.garments.findStalePending(updatedBefore);
  for (const cache of pending) await enqueueReferenceCache(deps.queue, cache.tenantId, cache.garmentId, cache.model);
  if (pending.length > 0) deps.logger.info({ count: pending.length }, 'enqueued reference caches whose job was lost');
  return pending.length;
}

/** The sweep of caches PENDING for longer than `graceMs`; at start-up, of all of them. */
export function pendingReferenceCacheSweep(deps: PendingCacheSweepDeps, graceMs: number): Sweep {
  return {
    run: (now) => requeuePendingReferenceCaches(deps, new Date(now.getTime() - graceMs)),
    resume: (now) => requeuePendingReferenceCaches(deps, now),
  };
}
