// The worker side of the platform: runs the jobs that need the try-on engine (reference
// caches, person encodings, renders), publishes render progress and notifies webhooks.
import { createHash, randomUUID } from 'node:crypto';
import type { Garment, PersonEncoding, PersonPhoto, ReferenceCache, Render } from '../generated/prisma/client';
import { HotCache, type Engine, type HotBlob, type RenderGarment } from '../inference';
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
import type { RenderInputRows, RenderRepository } from '../renders/render-repository';
import { followPreviewDemand, type PreviewDemand } from '../renders/preview-demand';
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
  /**
   * Bytes of person photos (their stored images, needed by every render for the composite) this
   * worker keeps between renders, least recently used out first. Default 0: read every time.
   */
  photoBytesHeld?: number;
}

/**
 * Writes of completedSteps (and the heartbeat) after the first step are at most this
 * frequent: step events carry the progress; the row is for readers without a subscription
 * and the stuck-render sweep (60 s without a heartbeat), and on the embedded database each
 * write waits its turn.
 */
const PROGRESS_WRITE_MS = 1_000;
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
  return queue.enqueue(
    'reference-cache',
    { tenantId, garmentId, model },
    { jobId: `${garmentId}_${safeKey(model)}`, attempts: CACHE_JOB_ATTEMPTS, backoffMs: 1000 },
  );
}

/** Enqueues encoding a person photo (API: on uploadPersonPhoto). */
export function enqueuePersonEncoding(queue: JobQueue, tenantId: string, photoId: string, model: string): Promise<void> {
  return queue.enqueue(
    'person-encoding',
    { tenantId, photoId, model },
    { jobId: `${photoId}_${safeKey(model)}`, attempts: CACHE_JOB_ATTEMPTS, backoffMs: 1000 },
  );
}

export class InferenceJobs {
  /** Photo images by photo id, at their blob key (a photo's image never changes; a deleted photo's goes). */
  private readonly photoImages: HotCache<Buffer>;

  constructor(private readonly deps: InferenceJobsDeps) {
    this.photoImages = new HotCache(deps.photoBytesHeld ?? 0);
  }

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
        this.photoImages.delete(deleted.photoId);
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
      await this.notify(tenantId, 'REFERENCE_CACHE_FAILED', {
        garmentId: toGlobalId('Garment', garmentId),
        model: this.model,
        error: message.slice(0, 500),
      });
    }
  }

  /** Encodes the garment, stores the cache blob, marks the row READY; returns the blob. */
  private async computeReferenceCache(
    tenantId: string,
    garment: Pick<Garment, 'id' | 'category' | 'imageKey'>,
    cacheId: string,
  ): Promise<Buffer> {
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
    await this.publishCacheChange(tenantId, garment.id);
    await this.notify(tenantId, 'REFERENCE_CACHE_READY', {
      garmentId: toGlobalId('Garment', garment.id),
      model: this.model,
      bytes: blob.bytes,
      computeMs: blob.computeMs,
    });
    return blob.data;
  }

  /**
   * A garment's reference cache for a render, from its row as the render read it: a hot blob
   * (key: its blob key, version: its checksum) that the engine reads only when it does not hold
   * it decoded; computed first when not READY (a new model version, a lost job, a job still
   * running), and again when its blob is gone. Time spent computing goes to `computed.referenceMs`.
   */
  private async referenceCacheFor(
    tenantId: string,
    garment: Pick<Garment, 'id' | 'category' | 'imageKey'>,
    row: Pick<ReferenceCache, 'id' | 'status' | 'blobKey' | 'checksum' | 'updatedAt'> | null,
    computed: { referenceMs: number },
  ): Promise<RenderGarment> {
    const compute = async (cacheId: string): Promise<Buffer> => {
      const started = performance.now();
      try {
        return await this.computeReferenceCache(tenantId, garment, cacheId);
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

  // ---- person encodings --------------------------------------------------------------

  private async personEncodingJob(tenantId: string, photoId: string, ctx: JobContext): Promise<void> {
    const [photo] = await this.deps.photos.findByIds(tenantId, [photoId], null);
    if (!photo) return;
    try {
      await this.personEncodingFor(tenantId, photo, await this.deps.photos.ensureEncoding(tenantId, photoId, this.model, randomUUID()));
    } catch (error) {
      if (!isPermanent(error) && ctx.attempt < ctx.maxAttempts) throw error;
      const encoding = await this.deps.photos.ensureEncoding(tenantId, photoId, this.model, randomUUID());
      await this.deps.photos.markEncodingFailed(tenantId, encoding.id, (error as Error).message.slice(0, 500));
    }
  }

  /** A photo's stored image: from memory when this worker read it before, else from the blob store (then kept). */
  private async photoImage(photo: Pick<PersonPhoto, 'id' | 'imageKey'>): Promise<Buffer> {
    const held = this.photoImages.get(photo.id, photo.imageKey);
    if (held) return held;
    const image = await this.deps.blobs.get(photo.imageKey);
    if (!image) throw new InferenceError('INVALID_IMAGE', 'the person photo is missing from storage');
    this.photoImages.set(photo.id, photo.imageKey, image.data, image.data.length);
    return image.data;
  }

  /**
   * A photo and its encoding for a render, from the encoding's row as the render read it: the
   * encoding as a hot blob (key: its blob key, version: row and write time) the engine reads
   * only when it does not hold it decoded; encoded first when missing, and again when its blob
   * is gone.
   */
  private async personEncodingFor(
    tenantId: string,
    photo: Pick<PersonPhoto, 'id' | 'imageKey'>,
    row: Pick<PersonEncoding, 'id' | 'status' | 'blobKey' | 'updatedAt'> | null,
  ): Promise<{ encoding: HotBlob; image: Buffer }> {
    const image = await this.photoImage(photo);
    const encode = async (rowId: string): Promise<{ data: Buffer; version: string }> => {
      const encoded = await this.deps.engine.encodePerson(image);
      const blobKey = personEncodingKey(tenantId, photo.id, this.model);
      await this.deps.blobs.put(blobKey, encoded.data, 'application/octet-stream');
      const ready = await this.deps.photos.markEncodingReady(tenantId, rowId, {
        blobKey,
        bytes: encoded.data.length,
        computeMs: encoded.computeMs,
      });
      return { data: encoded.data, version: encodingVersion(ready) };
    };
    if (row?.status === 'READY' && row.blobKey) {
      const blobKey = row.blobKey;
      const rowId = row.id;
      const load = async (): Promise<Buffer> => (await this.deps.blobs.get(blobKey))?.data ?? (await encode(rowId)).data;
      return { encoding: { key: blobKey, version: encodingVersion(row), load }, image };
    }
    const encodingRow = row ?? (await this.deps.photos.ensureEncoding(tenantId, photo.id, this.model, randomUUID()));
    const { data, version } = await encode(encodingRow.id);
    return { encoding: { key: personEncodingKey(tenantId, photo.id, this.model), version, load: async () => data }, image };
  }

  // ---- renders -----------------------------------------------------------------------

  /** A render's blobs, from the rows read when it started: the garments' caches and the photo's encoding, all at once. */
  private async renderInputs(
    tenantId: string,
    rows: RenderInputRows,
    computed: { referenceMs: number },
  ): Promise<{ references: RenderGarment[]; person: { encoding: HotBlob; image: Buffer } }> {
    const photo = rows.photo;
    if (!photo) throw new InferenceError('INVALID_REQUEST', 'the person photo no longer exists');
    const [references, person] = await Promise.all([
      Promise.all(rows.garments.map(({ garment, cache }) => this.referenceCacheFor(tenantId, garment, cache, computed))),
      this.personEncodingFor(tenantId, photo, rows.encoding),
    ]);
    return { references, person };
  }

  private publish(render: Render, fields: Omit<RenderEvent, 'render' | 'publishedAt'>): Promise<void> {
    return this.deps.pubsub.publish(
      progressChannel(render.tenantId, render.id),
      encodeEvent({ render, ...fields, publishedAt: Date.now() }),
    );
  }

  /** Live catalog pages learn of it (best effort: a lost event only delays what a reload shows). */
  private async publishCacheChange(tenantId: string, garmentId: string): Promise<void> {
    await this.deps.pubsub
      .publish(catalogChannel(tenantId), garmentId)
      .catch((error: unknown) => this.deps.logger.warn({ err: error, tenantId, garmentId }, 'could not publish a reference cache change'));
  }

  /** Webhook notification is best effort here: its failure must not fail (and retry) finished work. */
  private async notify(tenantId: string, event: WebhookEventName, data: Record<string, unknown>): Promise<void> {
    await this.deps.notifier
      .notify(tenantId, event, data)
      .catch((error: unknown) => this.deps.logger.error({ err: error, tenantId, event }, 'could not record a webhook event'));
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
    const taken = performance.now();
    const previewPrefix = `previews/${tenantId}/${renderId}`;
    const controller = new AbortController();
    // Cancellation and preview demand are followed from before the step-0 event goes out (a
    // subscriber that asks for previews on hearing it is heard), subscribed to while the
    // render's transaction runs.
    const following = this.followRender(tenantId, renderId, () => controller.abort());
    following.catch(() => undefined); // awaited below; this only keeps an early failure handled
    const stopFollowing = () =>
      following.then(
        (f) => f.stop(),
        () => undefined,
      );
    // One transaction takes the render and reads what it needs (one turn of the embedded database).
    const startedWith = await renders.startWithInputs(tenantId, renderId, new Date(), this.model).catch(async (error: unknown) => {
      await stopFollowing();
      throw error;
    });
    if (!startedWith) {
      await stopFollowing();
      // Canceled or finished meanwhile; an attempt on a worker that stopped may have left previews.
      await this.deletePreviews(previewPrefix);
      return;
    }
    const { render, inputs: rows } = startedWith;
    if (render.attempts > MAX_RENDER_ATTEMPTS) {
      await stopFollowing();
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
    const { demand, stop } = await following;
    const computed = { referenceMs: 0 };
    // The blobs are read while the step-0 event goes out.
    const inputs = this.renderInputs(tenantId, rows, computed);
    inputs.catch(() => undefined); // awaited below; this only keeps an early failure handled
    const previewKeys: string[] = [];
    // An earlier attempt, on a worker that stopped, may have left previews.
    let previewsToDelete = render.attempts > 1;
    // Step reports run one after another, so subscribers see steps in order.
    let reports = Promise.resolve();
    // Previews are stored one after another beside the reports, never in their way: on a busy
    // process a blob write takes several turns of the event loop, which held up each step
    // event that carried a preview. A stored preview rides on the next step event published.
    let previewWrites = Promise.resolve();
    let storedPreview: RenderEvent['preview'] = null;
    // At most one progress write in flight; it never holds up the next step's publish.
    let writing: Promise<void> | null = null;
    try {
      const [, { references, person }] = await Promise.all([
        this.publish(render, { step: 0, totalSteps: render.steps, etaMs: null, preview: null, final: false }),
        inputs,
      ]);
      const loadedMs = performance.now() - taken;

      // The first step is written at once (a reader polling the row sees the render move), then
      // at most one write per PROGRESS_WRITE_MS.
      let lastWrite = 0;
      let running = render;
      const result = await this.deps.engine.render(
        {
          personImage: person.image,
          personHot: person.encoding,
          garments: references,
          steps: render.steps,
          guidanceScale: render.guidanceScale,
          seed: render.seed,
        },
        {
          signal: controller.signal,
          // Only while someone watches with previews: true (preview-demand.ts).
          previews: demand.wanted,
          previewIntervalMs: this.deps.previewIntervalMs ?? PREVIEW_INTERVAL_MS,
          onStep: (progress) => {
            const made = progress.preview;
            if (made) {
              previewsToDelete = true;
              previewWrites = previewWrites
                .then(async () => {
                  // A key per preview: the same key would keep one URL, which browsers cache.
                  const key = `${previewPrefix}/${progress.step}`;
                  await this.deps.blobs.put(key, made.png, 'image/png');
                  previewKeys.push(key);
                  if (previewKeys.length > PREVIEWS_KEPT) void this.deleteBlobs(previewKeys.splice(0, previewKeys.length - PREVIEWS_KEPT));
                  storedPreview = { key, width: made.width, height: made.height };
                })
                .catch((error: unknown) => logger.warn({ err: error, renderId }, 'preview write failed'));
            }
            reports = reports
              .then(async () => {
                const preview = storedPreview;
                storedPreview = null;
                running = { ...running, completedSteps: progress.step };
                await this.publish(running, {
                  step: progress.step,
                  totalSteps: progress.totalSteps,
                  etaMs: progress.etaMs,
                  preview,
                  final: false,
                });
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
              })
              .catch((error: unknown) => logger.warn({ err: error, renderId }, 'progress report failed'));
          },
        },
      );
      const engineDone = performance.now();
      const resultKey = `results/${tenantId}/${renderId}`;
      // The result is stored while the last reports go out and the previews are deleted.
      await Promise.all([
        this.deps.blobs.put(resultKey, result.image, 'image/png'),
        (async () => {
          await reports;
          await writing; // the last report may have started one
          await previewWrites;
          if (previewsToDelete) await this.deletePreviews(previewPrefix);
        })(),
      ]);
      const stored = performance.now();
      const engine = result.timings;
      // The engine's work before its first step (reading the blobs it does not hold, loading the
      // caches into K/V, masks) is loading too; a cache computed in there (its blob was gone)
      // is counted in referenceMs, wherever it ran.
      const engineLoadMs = Math.max(0, engine.totalMs - engine.denoiseMs - engine.decodeMs - engine.composeMs);
      const done = await renders.finish(tenantId, renderId, {
        status: 'SUCCEEDED',
        completedSteps: render.steps,
        resultKey,
        resultWidth: result.width,
        resultHeight: result.height,
        loadMs: Math.max(0, loadedMs + engineLoadMs - computed.referenceMs),
        referenceMs: computed.referenceMs,
        denoiseMs: engine.denoiseMs,
        decodeMs: engine.decodeMs,
        finishMs: engine.composeMs + (stored - engineDone),
        totalMs: stored - taken,
      });
      if (done) await this.publishFinal(done);
      else await this.deps.blobs.delete(resultKey); // canceled in the last moment
    } catch (error) {
      await reports;
      await previewWrites;
      await writing;
      await this.deletePreviews(previewPrefix);
      const current = await renders.find(tenantId, renderId);
      if (!current || current.status === 'CANCELED') return; // cancelRender published the final event
      if (isPermanent(error) && (error as InferenceError).code !== 'CANCELED') {
        const inferenceError = error as InferenceError;
        const failed = await renders.finish(tenantId, renderId, {
          status: 'FAILED',
          errorCode: inferenceError.code,
          errorMessage: inferenceError.message,
        });
        if (failed) await this.publishFinal(failed);
        return;
      }
      logger.error({ err: error, renderId, attempt: ctx.attempt }, 'render failed');
      if (ctx.attempt < ctx.maxAttempts) {
        await renders.requeue(tenantId, renderId);
        throw error;
      }
      const failed = await renders.finish(tenantId, renderId, {
        status: 'FAILED',
        errorCode: 'INTERNAL',
        errorMessage: 'the render failed on every attempt',
      });
      if (failed) await this.publishFinal(failed);
    } finally {
      await stop();
    }
  }

  /** Subscribes to a render's cancel and preview channels; all or nothing. */
  private async followRender(
    tenantId: string,
    renderId: string,
    onCancel: () => void,
  ): Promise<{ demand: PreviewDemand; stop: () => Promise<void> }> {
    const [cancel, demand] = await Promise.allSettled([
      this.deps.pubsub.subscribe(cancelChannel(tenantId, renderId), onCancel),
      followPreviewDemand(this.deps.pubsub, tenantId, renderId),
    ]);
    if (cancel.status === 'fulfilled' && demand.status === 'fulfilled') {
      return { demand: demand.value, stop: async () => void (await Promise.all([cancel.value(), demand.value.stop()])) };
    }
    if (cancel.status === 'fulfilled') await cancel.value();
    if (demand.status === 'fulfilled') await demand.value.stop();
    throw cancel.status === 'rejected' ? cancel.reason : (demand as PromiseRejectedResult).reason;
  }

  /**
   * Previews only show a render in progress: they go before its final state is written, all of
   * them (an earlier attempt, on a worker that stopped, may have left some too).
   */
  private async deletePreviews(prefix: string): Promise<void> {
    await this.deps.blobs
      .deleteAllUnder(prefix)
      .catch((error: unknown) => this.deps.logger.warn({ err: error, prefix }, 'could not delete previews'));
  }

  /** Best effort: a file left behind costs only space. */
  private async deleteBlobs(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.deps.blobs.delete(key).catch((error: unknown) => this.deps.logger.warn({ err: error, key }, 'could not delete a preview'));
    }
  }
}
