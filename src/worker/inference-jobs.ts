// The worker side of the platform: runs the jobs that need the try-on engine (reference
// caches, person encodings, renders), publishes render progress and notifies webhooks.
import { createHash, randomUUID } from 'node:crypto';
import type { Garment, PersonPhoto, Render } from '../generated/prisma/client';
import type { Engine, HotBlob, RenderGarment } from '../inference';
import { InferenceError } from '../inference';
import type { BlobStore } from '../blobs';
import type { JobContext, JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import { catalogChannel, GARMENT_ARCHIVED_CHANNEL, parseGarmentArchived } from '../garments/catalog-events';
import { parsePhotoDeleted, PHOTO_DELETED_CHANNEL } from '../photos/photo-events';
import type { Logger } from '../observability/logger';
import type { GarmentRepository } from '../garments/garment-repository';
import type { PhotoRepository } from '../photos/photo-repository';
import type { OutfitRepository } from '../outfits/outfit-repository';
import type { RenderRepository } from '../renders/render-repository';
import { MAX_RENDER_ATTEMPTS } from '../renders/render-service';
import { toGlobalId } from '../common/ids';
import { cancelChannel, encodeEvent, progressChannel, type RenderEvent } from '../renders/render-events';

const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
/** A person encoding's content identity for the engine's hot cache: it changes whenever the encoding is written again. */
const encodingVersion = (row: { id: string; updatedAt: Date }): string => `${row.id}@${row.updatedAt.getTime()}`;

export type WebhookEventName = 'RENDER_SUCCEEDED' | 'RENDER_FAILED' | 'REFERENCE_CACHE_READY' | 'REFERENCE_CACHE_FAILED';

/** Where tenant integrations hear about finished work (webhooks). */
export interface EventNotifier {
  notify(tenantId: string, event: WebhookEventName, data: Record<string, unknown>): Promise<void>;
}

export interface InferenceJobsDeps {
  engine: Engine;
  blobs: BlobStore;
  queue: JobQueue;
  pubsub: PubSub;
  garments: GarmentRepository;
  photos: PhotoRepository;
  outfits: OutfitRepository;
  renders: RenderRepository;
  notifier: EventNotifier;
  logger: Logger;
  /** Renders run at once in this worker (they share denoiser calls). Default 4. */
  renderConcurrency?: number;
  /** At least this long (ms) between two previews of a render. Default 500. */
  previewIntervalMs?: number;
}

/** Writes of completedSteps are at most this frequent. */
const PROGRESS_WRITE_MS = 250;
/** Previews of a render's current estimate: at most one started per this many ms (each is a VAE decode, a PNG and a blob write). */
const PREVIEW_INTERVAL_MS = 500;
/** A render's previews kept in storage: the newest, and the one before for a client still fetching it. */
const PREVIEWS_KEPT = 2;
export const CACHE_JOB_ATTEMPTS = 3;

/** Engine failures that say nothing about the input: worth another attempt. */
const TRANSIENT_ENGINE_ERRORS = new Set(['ENGINE_CRASHED', 'ENGINE_CLOSED', 'INTERNAL']);
const isPermanent = (error: unknown): boolean => error instanceof InferenceError && !TRANSIENT_ENGINE_ERRORS.has(error.code);

const safeKey = (model: string) => model.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
/** Where a garment's reference cache for a model is stored (also its key in the engine's hot cache). */
const referenceCacheKey = (tenantId: string, garmentId: string, model: string) => `caches/${tenantId}/${garmentId}/${safeKey(model)}`;
/** Where a photo's encoding for a model is stored (also its key in the engine's hot cache). */
const personEncodingKey = (tenantId: string, photoId: string, model: string) => `encodings/${tenantId}/${photoId}/${safeKey(model)}`;

/** Enqueues computing a garment's reference cache (API: on createGarment and retryReferenceCache). */
export function enqueueReferenceCache(queue: JobQueue, tenantId: string, garmentId: string, model: string): Promise<void> {
  return queue.enqueue('reference-cache', { tenantId, garmentId, model }, { jobId: `${garmentId}_${safeKey(model)}`, attempts: CACHE_JOB_ATTEMPTS, backoffMs: 1000 });
}

/** Enqueues encoding a person photo (API: on uploadPersonPhoto). */
export function enqueuePersonEncoding(queue: JobQueue, tenantId: string, photoId: string, model: string): Promise<void> {
  return queue.enqueue('person-encoding', { tenantId, photoId, model }, { jobId: `${photoId}_${safeKey(model)}`, attempts: CACHE_JOB_ATTEMPTS, backoffMs: 1000 });
}

export class InferenceJobs {
  constructor(private readonly deps: InferenceJobsDeps) {}

  get model(): string {
    return this.deps.engine.model.id;
  }

  /** Starts consuming the engine's job kinds in this process. */
  start(): void {
    const { queue } = this.deps;
    queue.process('reference-cache', (p, ctx) => this.referenceCacheJob(p.tenantId, p.garmentId, ctx), { concurrency: 1 });
    queue.process('person-encoding', (p, ctx) => this.personEncodingJob(p.tenantId, p.photoId, ctx), { concurrency: 1 });
    queue.process('render', (p, ctx) => this.renderJob(p.tenantId, p.renderId, ctx), { concurrency: this.deps.renderConcurrency ?? 4 });
    // An archived garment's K/V leave the engine's memory (renders still holding them finish).
    this.deps.pubsub
      .subscribe(GARMENT_ARCHIVED_CHANNEL, (message) => {
        const archived = parseGarmentArchived(message);
        if (archived === null) return;
        this.deps.engine.forget([referenceCacheKey(archived.tenantId, archived.garmentId, this.model)]).catch(() => undefined);
      })
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'could not follow archived garments'));
    // So does a deleted photo's encoding.
    this.deps.pubsub
      .subscribe(PHOTO_DELETED_CHANNEL, (message) => {
        const deleted = parsePhotoDeleted(message);
        if (deleted === null) return;
        this.deps.engine.forget([personEncodingKey(deleted.tenantId, deleted.photoId, this.model)]).catch(() => undefined);
      })
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'could not follow deleted photos'));
  }

  // ---- reference caches --------------------------------------------------------------

  private async referenceCacheJob(tenantId: string, garmentId: string, ctx: JobContext): Promise<void> {
    const [garment] = await this.deps.garments.findByIds(tenantId, [garmentId]);
    if (!garment) return;
    const cache = await this.deps.garments.ensureCache(tenantId, garmentId, this.model, randomUUID());
    if (cache.status === 'READY') return;
    try {
      await this.computeReferenceCache(tenantId, garment, cache.id);
    } catch (error) {
      if (!isPermanent(error) && ctx.attempt < ctx.maxAttempts) throw error;
      const message = error instanceof Error ? error.message : String(error);
      await this.deps.garments.markCacheFailed(tenantId, cache.id, message.slice(0, 500));
      await this.publishCacheChange(tenantId, garmentId);
      await this.notify(tenantId, 'REFERENCE_CACHE_FAILED', { garmentId: toGlobalId('Garment', garmentId), model: this.model, error: message.slice(0, 500) });
    }
  }

  /** Encodes the garment, stores the cache blob, marks the row READY; returns the blob. */
  private async computeReferenceCache(tenantId: string, garment: Garment, cacheId: string): Promise<Buffer> {
    const image = await this.deps.blobs.get(garment.imageKey);
    if (!image) throw new InferenceError('INVALID_IMAGE', 'the garment image is missing from storage');
    const blob = await this.deps.engine.encodeReference(image.data, garment.category);
    const blobKey = referenceCacheKey(tenantId, garment.id, this.model);
    await this.deps.blobs.put(blobKey, blob.data, 'application/octet-stream');
    await this.deps.garments.markCacheReady(tenantId, cacheId, { blobKey, bytes: blob.bytes, checksum: blob.checksum, computeMs: blob.computeMs });
    await this.publishCacheChange(tenantId, garment.id);
    await this.notify(tenantId, 'REFERENCE_CACHE_READY', { garmentId: toGlobalId('Garment', garment.id), model: this.model, bytes: blob.bytes, computeMs: blob.computeMs });
    return blob.data;
  }

  /**
   * A garment's reference cache for a render: a hot blob (key: its blob key, version: its
   * checksum) that the engine reads only when it does not hold it decoded; computed first when
   * missing (a new model version, a lost job), and again when its blob is gone.
   */
  private async referenceCacheFor(tenantId: string, garment: Garment): Promise<RenderGarment> {
    const cache = await this.deps.garments.ensureCache(tenantId, garment.id, this.model, randomUUID());
    if (cache.status === 'READY' && cache.blobKey) {
      const blobKey = cache.blobKey;
      const load = async (): Promise<Buffer> => (await this.deps.blobs.get(blobKey))?.data ?? this.computeReferenceCache(tenantId, garment, cache.id);
      return { category: garment.category, hot: { key: blobKey, version: cache.checksum ?? `${cache.id}@${cache.updatedAt.getTime()}`, load } };
    }
    const data = await this.computeReferenceCache(tenantId, garment, cache.id);
    const hot: HotBlob = { key: referenceCacheKey(tenantId, garment.id, this.model), version: sha256Hex(data), load: async () => data };
    return { category: garment.category, cache: data, hot };
  }

  // ---- person encodings --------------------------------------------------------------

  private async personEncodingJob(tenantId: string, photoId: string, ctx: JobContext): Promise<void> {
    const [photo] = await this.deps.photos.findByIds(tenantId, [photoId], null);
    if (!photo) return;
    try {
      await this.personEncodingFor(tenantId, photo);
    } catch (error) {
      if (!isPermanent(error) && ctx.attempt < ctx.maxAttempts) throw error;
      const encoding = await this.deps.photos.ensureEncoding(tenantId, photoId, this.model, randomUUID());
      await this.deps.photos.markEncodingFailed(tenantId, encoding.id, (error as Error).message.slice(0, 500));
    }
  }

  /**
   * A photo and its encoding for a render: the encoding as a hot blob (key: its blob key,
   * version: row and write time) the engine reads only when it does not hold it decoded;
   * encoded first when missing, and again when its blob is gone.
   */
  private async personEncodingFor(tenantId: string, photo: PersonPhoto): Promise<{ encoding: HotBlob; image: Buffer }> {
    const image = await this.deps.blobs.get(photo.imageKey);
    if (!image) throw new InferenceError('INVALID_IMAGE', 'the person photo is missing from storage');
    const row = await this.deps.photos.ensureEncoding(tenantId, photo.id, this.model, randomUUID());
    const encode = async (): Promise<{ data: Buffer; version: string }> => {
      const encoded = await this.deps.engine.encodePerson(image.data);
      const blobKey = personEncodingKey(tenantId, photo.id, this.model);
      await this.deps.blobs.put(blobKey, encoded.data, 'application/octet-stream');
      const ready = await this.deps.photos.markEncodingReady(tenantId, row.id, { blobKey, bytes: encoded.data.length, computeMs: encoded.computeMs });
      return { data: encoded.data, version: encodingVersion(ready) };
    };
    if (row.status === 'READY' && row.blobKey) {
      const blobKey = row.blobKey;
      const load = async (): Promise<Buffer> => (await this.deps.blobs.get(blobKey))?.data ?? (await encode()).data;
      return { encoding: { key: blobKey, version: encodingVersion(row), load }, image: image.data };
    }
    const { data, version } = await encode();
    return { encoding: { key: personEncodingKey(tenantId, photo.id, this.model), version, load: async () => data }, image: image.data };
  }

  // ---- renders -----------------------------------------------------------------------

  /** A render's garments with their reference caches, and its photo with its encoding: two independent chains. */
  private async renderInputs(tenantId: string, render: Render): Promise<{ references: RenderGarment[]; person: { encoding: HotBlob; image: Buffer } }> {
    const references = this.deps.outfits.findItems(tenantId, [render.outfitId]).then(async (items) => {
      const garments = await this.deps.garments.findByIds(tenantId, items.map((i) => i.garmentId));
      const byId = new Map(garments.map((g) => [g.id, g]));
      const outfit = items.map((item) => {
        const garment = byId.get(item.garmentId);
        if (!garment) throw new InferenceError('INVALID_REQUEST', 'a garment of the outfit no longer exists');
        return garment;
      });
      return Promise.all(outfit.map((garment) => this.referenceCacheFor(tenantId, garment)));
    });
    const person = this.deps.photos.findByIds(tenantId, [render.personPhotoId], null).then(([photo]) => {
      if (!photo) throw new InferenceError('INVALID_REQUEST', 'the person photo no longer exists');
      return this.personEncodingFor(tenantId, photo);
    });
    const [loaded, encoded] = await Promise.all([references, person]);
    return { references: loaded, person: encoded };
  }

  private publish(render: Render, fields: Omit<RenderEvent, 'render' | 'publishedAt'>): Promise<void> {
    return this.deps.pubsub.publish(
      progressChannel(render.tenantId, render.id),
      encodeEvent({ render, ...fields, publishedAt: Date.now() }),
    );
  }

  /** Live catalog pages learn of it (best effort: a lost event only delays what a reload shows). */
  private async publishCacheChange(tenantId: string, garmentId: string): Promise<void> {
    await this.deps.pubsub.publish(catalogChannel(tenantId), garmentId).catch((error: unknown) =>
      this.deps.logger.warn({ err: error, tenantId, garmentId }, 'could not publish a reference cache change'),
    );
  }

  /** Webhook notification is best effort here: its failure must not fail (and retry) finished work. */
  private async notify(tenantId: string, event: WebhookEventName, data: Record<string, unknown>): Promise<void> {
    await this.deps.notifier.notify(tenantId, event, data).catch((error: unknown) =>
      this.deps.logger.error({ err: error, tenantId, event }, 'could not record a webhook event'),
    );
  }

  private async publishFinal(render: Render): Promise<void> {
    await this.publish(render, { step: render.completedSteps, totalSteps: render.steps, etaMs: 0, preview: null, final: true });
    if (render.status === 'SUCCEEDED' || render.status === 'FAILED') {
      await this.notify(render.tenantId, render.status === 'SUCCEEDED' ? 'RENDER_SUCCEEDED' : 'RENDER_FAILED', {
        renderId: toGlobalId('Render', render.id),
        status: render.status,
        ...(render.errorCode ? { error: { code: render.errorCode, message: render.errorMessage } } : {}),
        totalMs: render.totalMs,
      });
    }
  }

  private async renderJob(tenantId: string, renderId: string, ctx: JobContext): Promise<void> {
    const { renders, logger } = this.deps;
    const previewPrefix = `previews/${tenantId}/${renderId}`;
    const render = await renders.start(tenantId, renderId, new Date());
    if (!render) {
      // Canceled or finished meanwhile; an attempt on a worker that stopped may have left previews.
      await this.deletePreviews(previewPrefix);
      return;
    }
    if (render.attempts > MAX_RENDER_ATTEMPTS) {
      await this.deletePreviews(previewPrefix);
      const failed = await renders.finish(tenantId, renderId, {
        status: 'FAILED',
        errorCode: 'WORKER_LOST',
        errorMessage: `the render was interrupted ${MAX_RENDER_ATTEMPTS} times (a worker stopped while running it)`,
      });
      if (failed) await this.publishFinal(failed);
      return;
    }
    logger.info({ renderId, tenantId, attempt: render.attempts }, 'render started');
    const controller = new AbortController();
    const started = performance.now();
    // Side by side: on a busy process every await waits for a turn of the event loop (and, on
    // the embedded database, for the queries queued before it), so a render's start takes as
    // many turns as the longest chain here, not the sum of them.
    const inputs = this.renderInputs(tenantId, render);
    inputs.catch(() => undefined); // awaited below; this only keeps an early failure handled
    const stopListening = await this.deps.pubsub.subscribe(cancelChannel(tenantId, renderId), () => controller.abort());
    const previewKeys: string[] = [];
    // Step reports run one after another, so subscribers see steps in order.
    let reports = Promise.resolve();
    // Previews are stored one after another beside the reports, never in their way: on a busy
    // process a blob write takes several turns of the event loop, which held up each step
    // event that carried a preview. A stored preview rides on the next step event published.
    let previewWrites = Promise.resolve();
    let storedPreview: RenderEvent['preview'] = null;
    try {
      const [, { references, person }] = await Promise.all([
        this.publish(render, { step: 0, totalSteps: render.steps, etaMs: null, preview: null, final: false }),
        inputs,
      ]);
      const referenceMs = performance.now() - started;

      let lastWrite = 0;
      // At most one progress write in flight; it never holds up the next step's publish.
      let writing: Promise<void> | null = null;
      let running = render;
      const result = await this.deps.engine.render(
        { personImage: person.image, personHot: person.encoding, garments: references, steps: render.steps, guidanceScale: render.guidanceScale, seed: render.seed },
        {
          signal: controller.signal,
          previews: true,
          previewIntervalMs: this.deps.previewIntervalMs ?? PREVIEW_INTERVAL_MS,
          onStep: (progress) => {
            const made = progress.preview;
            if (made) {
              previewWrites = previewWrites.then(async () => {
                // A key per preview: the same key would keep one URL, which browsers cache.
                const key = `${previewPrefix}/${progress.step}`;
                await this.deps.blobs.put(key, made.png, 'image/png');
                previewKeys.push(key);
                if (previewKeys.length > PREVIEWS_KEPT) void this.deleteBlobs(previewKeys.splice(0, previewKeys.length - PREVIEWS_KEPT));
                storedPreview = { key, width: made.width, height: made.height };
              }).catch((error: unknown) => logger.warn({ err: error, renderId }, 'preview write failed'));
            }
            reports = reports.then(async () => {
              const preview = storedPreview;
              storedPreview = null;
              running = { ...running, completedSteps: progress.step };
              await this.publish(running, { step: progress.step, totalSteps: progress.totalSteps, etaMs: progress.etaMs, preview, final: false });
              const now = Date.now();
              if (writing === null && now - lastWrite >= PROGRESS_WRITE_MS) {
                lastWrite = now;
                writing = renders
                  .progress(tenantId, renderId, progress.step, new Date(now))
                  .catch((error: unknown) => logger.warn({ err: error, renderId }, 'progress write failed'))
                  .finally(() => {
                    writing = null;
                  });
              }
            }).catch((error: unknown) => logger.warn({ err: error, renderId }, 'progress report failed'));
          },
        },
      );
      await reports;
      await writing;
      await previewWrites;
      await this.deletePreviews(previewPrefix);
      const resultKey = `results/${tenantId}/${renderId}`;
      await this.deps.blobs.put(resultKey, result.image, 'image/png');
      const totalMs = performance.now() - started;
      const done = await renders.finish(tenantId, renderId, {
        status: 'SUCCEEDED',
        completedSteps: render.steps,
        resultKey,
        resultWidth: result.width,
        resultHeight: result.height,
        referenceMs: referenceMs + result.timings.referenceMs,
        denoiseMs: result.timings.denoiseMs,
        decodeMs: result.timings.decodeMs,
        totalMs,
      });
      if (done) await this.publishFinal(done);
      else await this.deps.blobs.delete(resultKey); // canceled in the last moment
    } catch (error) {
      await reports;
      await previewWrites;
      await this.deletePreviews(previewPrefix);
      const current = await renders.find(tenantId, renderId);
      if (!current || current.status === 'CANCELED') return; // cancelRender published the final event
      if (isPermanent(error) && (error as InferenceError).code !== 'CANCELED') {
        const inferenceError = error as InferenceError;
        const failed = await renders.finish(tenantId, renderId, { status: 'FAILED', errorCode: inferenceError.code, errorMessage: inferenceError.message });
        if (failed) await this.publishFinal(failed);
        return;
      }
      logger.error({ err: error, renderId, attempt: ctx.attempt }, 'render failed');
      if (ctx.attempt < ctx.maxAttempts) {
        await renders.requeue(tenantId, renderId);
        throw error;
      }
      const failed = await renders.finish(tenantId, renderId, { status: 'FAILED', errorCode: 'INTERNAL', errorMessage: 'the render failed on every attempt' });
      if (failed) await this.publishFinal(failed);
    } finally {
      await stopListening();
    }
  }

  /**
   * Previews only show a render in progress: they go before its final state is written, all of
   * them (an earlier attempt, on a worker that stopped, may have left some too).
   */
  private async deletePreviews(prefix: string): Promise<void> {
    await this.deps.blobs.deleteAllUnder(prefix).catch((error: unknown) => this.deps.logger.warn({ err: error, prefix }, 'could not delete previews'));
  }

  /** Best effort: a file left behind costs only space. */
  private async deleteBlobs(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.deps.blobs.delete(key).catch((error: unknown) => this.deps.logger.warn({ err: error, key }, 'could not delete a preview'));
    }
  }
}
