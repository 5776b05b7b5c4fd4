// Renders, API side: requesting (validation, quota, idempotency), cancelling, reading (with
// RENDERS_READ; a shopper its own), and the live progress stream. The render itself runs in
// a worker (src/worker/inference-jobs.ts).
import { randomInt, randomUUID } from 'node:crypto';
import type { Render, RenderStatus } from './render-types';
import { AuthError, requireScope, requireShopperDataReader, shopperScope, type Viewer } from '../auth/viewer';
import { fromGlobalId, alignToIds } from '../common/ids';
import { ok, refuse, type Outcome, type UserError } from '../common/user-errors';
import { characterCount, hasForbiddenCharacters, invalidCharacters } from '../common/text';
import type { Page, PageRequest } from '../common/pagination';
import { backlogPriority, type JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import type { OutfitService } from '../outfits/outfit-service';
import type { PhotoService } from '../photos/photo-service';
import type { Logger } from '../observability/logger';
import type { BlobStore } from '../blobs';
import { ACTIVE, type RenderRepository } from './render-repository';
import { cancelChannel, decodeEvent, encodeEvent, isTerminal, progressChannel, type RenderEvent } from './render-events';
import { PreviewWatchers, type PreviewWatch } from './preview-demand';
import { renderError } from './render-errors';

export const MAX_RENDER_ATTEMPTS = 3;

/**
 * How long a request waits for the job queue or pub/sub (Redis, when scaled out) before it
 * answers without them: the render row is the truth, and what could not be sent then is sent
 * when Redis is back (the client queues it) or by the sweep that re-enqueues lost renders.
 */
const BROKER_WAIT_MS = 2_000;

/** Waits for `work` at most `ms`; rejects when it fails or takes longer (it goes on in the background). */
async function waitBriefly(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the job queue or pub/sub in ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RequestRenderInput {
  outfitId: string;
  personPhotoId: string;
  steps?: number | null;
  guidanceScale?: number | null;
  seed?: number | null;
  idempotencyKey?: string | null;
}

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

export class RenderService {
  /** Every subscriber of a render receives the same message: parse it once (events are read-only). */
  private lastDecoded: { message: string; event: RenderEvent } | null = null;

  private decode(message: string): RenderEvent {
    if (this.lastDecoded?.message !== message) this.lastDecoded = { message, event: decodeEvent(message) };
    return this.lastDecoded.event;
  }

  /** Leases the previews of renders watched with previews: true here (preview-demand.ts). */
  private readonly previewWatchers: PreviewWatchers;

  constructor(
    private readonly renders: RenderRepository,
    private readonly outfits: OutfitService,
    private readonly photos: PhotoService,
    private readonly queue: JobQueue,
    private readonly pubsub: PubSub,
    private readonly blobs: BlobStore,
    private readonly defaultModel: string,
    private readonly logger: Logger,
    /** A subscription that hears nothing for this long re-reads its render (ms). */
    private readonly progressResyncMs = 10_000,
  ) {
    this.previewWatchers = new PreviewWatchers(pubsub, logger);
  }

  async requestRender(viewer: Viewer, input: RequestRenderInput): Promise<Outcome<Render>> {
    const tenantViewer = requireScope(viewer, 'RENDERS_WRITE', true);
    const errors: UserError[] = [];
    const steps = input.steps ?? 20;
    const guidanceScale = input.guidanceScale ?? 2.5;
    if (!Number.isInteger(steps) || steps < 1 || steps > 100)
      errors.push(renderError('OUT_OF_RANGE', 'steps must be between 1 and 100', ['input', 'steps']));
    if (!Number.isFinite(guidanceScale) || guidanceScale < 0 || guidanceScale > 10) {
      errors.push(renderError('OUT_OF_RANGE', 'guidanceScale must be between 0 and 10', ['input', 'guidanceScale']));
    }
    const idempotencyKey = input.idempotencyKey ?? null;
    if (idempotencyKey !== null && (idempotencyKey.length === 0 || characterCount(idempotencyKey) > 200)) {
      errors.push(renderError('OUT_OF_RANGE', 'idempotencyKey must be 1 to 200 characters', ['input', 'idempotencyKey']));
    } else if (idempotencyKey !== null && hasForbiddenCharacters(idempotencyKey)) {
      errors.push(invalidCharacters('idempotencyKey', ['input', 'idempotencyKey']));
    }
    const outfitId = fromGlobalId(input.outfitId, 'Outfit');
    const photoId = fromGlobalId(input.personPhotoId, 'PersonPhoto');
    const [outfit] = outfitId ? await this.outfits.findOutfits(tenantViewer, [outfitId]) : [null];
    const [photo] = photoId ? await this.photos.findPhotos(tenantViewer, [photoId]) : [null];
    if (!outfit) errors.push(renderError('NOT_FOUND', 'no outfit with this id', ['input', 'outfitId']));
    if (!photo) errors.push(renderError('NOT_FOUND', 'no person photo with this id', ['input', 'personPhotoId']));
    // A render is made for one shopper, who then sees its photo and outfit: never another's.
    if (outfit?.shopperId && photo?.shopperId && outfit.shopperId !== photo.shopperId) {
      errors.push(renderError('SHOPPER_MISMATCH', 'the outfit and the person photo belong to different shoppers', ['input', 'outfitId']));
    }
    if (errors.length > 0 || !outfit || !photo) return refuse(...errors);
    const result = await this.renders.create(tenantViewer.tenantId, {
      id: randomUUID(),
      outfitId: outfit.id,
      personPhotoId: photo.id,
      shopperId: shopperScope(tenantViewer) ?? photo.shopperId ?? outfit.shopperId,
      model: this.defaultModel,
      steps,
      guidanceScale,
      seed: input.seed ?? randomInt(0, 2 ** 31 - 1),
      idempotencyKey,
    });
    if (result.kind === 'over_quota') {
      return refuse(
        renderError('CONCURRENCY_LIMIT', `this tenant already has ${result.active} of its ${result.limit} renders queued or running`),
      );
    }
    if (result.kind === 'created') {
      // A failed enqueue leaves the render QUEUED; the sweep enqueues it again.
      await waitBriefly(enqueueRender(this.queue, tenantViewer.tenantId, result.render.id, result.place), BROKER_WAIT_MS).catch(
        (error: unknown) => this.logger.warn({ err: error, renderId: result.render.id }, 'enqueue failed; the sweep will retry'),
      );
    }
    return ok(result.render);
  }

  async cancelRender(viewer: Viewer, renderId: string | null): Promise<Outcome<Render>> {
    const tenantViewer = requireScope(viewer, 'RENDERS_WRITE', true);
    const result = renderId ? await this.renders.cancel(tenantViewer.tenantId, renderId, shopperScope(tenantViewer)) : null;
    if (!result) return refuse(renderError('NOT_FOUND', 'no render with this id', ['id']));
    if (!result.canceled) {
      return refuse(renderError('RENDER_FINISHED', `the render is already ${result.render.status}`, ['id']));
    }
    // The row says CANCELED already: a worker that misses the message cannot finish the render.
    await this.announceCanceled(result.render);
    return ok(result.render);
  }

  /** Tells the worker running `render` to stop, and its subscribers that it is CANCELED. */
  private async announceCanceled(render: Render): Promise<void> {
    const announce = async () => {
      await this.pubsub.publish(cancelChannel(render.tenantId, render.id), 'cancel');
      await this.pubsub.publish(
        progressChannel(render.tenantId, render.id),
        encodeEvent({
          render,
          step: render.completedSteps,
          totalSteps: render.steps,
          etaMs: null,
          preview: null,
          final: true,
          publishedAt: Date.now(),
        }),
      );
    };
    await waitBriefly(announce(), BROKER_WAIT_MS).catch((error: unknown) =>
      this.logger.warn({ err: error, renderId: render.id }, 'cancellation not published yet; it goes out when pub/sub is back'),
    );
  }

  /**
   * Before its person photo is deleted: the photo's renders go, with their results and
   * previews. One still QUEUED or RUNNING is announced CANCELED (its worker stops within a
   * step; finding no row, it stores nothing).
   */
  async deleteRendersOfPhoto(tenantId: string, personPhotoId: string): Promise<void> {
    const deleted = await this.renders.deleteByPhoto(tenantId, personPhotoId);
    for (const render of deleted) {
      if (ACTIVE.includes(render.status)) await this.announceCanceled({ ...render, status: 'CANCELED', finishedAt: new Date() });
      if (render.resultKey) await this.blobs.delete(render.resultKey);
      await this.blobs.deleteAllUnder(`previews/${tenantId}/${render.id}`);
    }
  }

  listRenders(viewer: Viewer, page: PageRequest, status?: RenderStatus | null): Promise<Page<Render>> {
    const tenantViewer = requireShopperDataReader(viewer);
    return this.renders.list(tenantViewer.tenantId, page, { shopperId: shopperScope(tenantViewer), status: status ?? undefined });
  }

  async findRenders(viewer: Viewer, ids: readonly string[]): Promise<(Render | null)[]> {
    const tenantViewer = requireShopperDataReader(viewer);
    const rows = await this.renders.findByIds(tenantViewer.tenantId, ids, shopperScope(tenantViewer));
    return alignToIds(ids, rows);
  }

  async findRender(viewer: Viewer, id: string): Promise<Render | null> {
    return (await this.findRenders(viewer, [id]))[0] ?? null;
  }

  /**
   * The render's current state, then every event, ending with its final state. Subscribes
   * before reading the current state, so nothing published in between is lost; that read is
   * also the authorization check, made once: another tenant's or shopper's render is NOT_FOUND.
   * With `previews`, the render makes previews while this subscription is open (and no longer
   * than that plus a lease): nobody else asks for them.
   */
  async progress(
    viewer: Viewer,
    renderGlobalId: string,
    options: { previews: boolean } = { previews: false },
  ): Promise<AsyncIterable<RenderEvent>> {
    const tenantViewer = requireShopperDataReader(viewer);
    const renderId = fromGlobalId(renderGlobalId, 'Render');
    if (!renderId) throw new AuthError('NOT_FOUND', 'no render with this id');
    const buffered: RenderEvent[] = [];
    let wake: (() => void) | null = null;
    // The channel carries the viewer's own tenant, so subscribing before the check reveals nothing.
    const unsubscribe = await this.pubsub.subscribe(progressChannel(tenantViewer.tenantId, renderId), (message) => {
      buffered.push(this.decode(message));
      wake?.();
    });
    const current = await this.findRender(tenantViewer, renderId).catch(async (error: unknown) => {
      await unsubscribe();
      throw error;
    });
    if (!current) {
      await unsubscribe();
      throw new AuthError('NOT_FOUND', 'no render with this id');
    }
    const resyncMs = this.progressResyncMs;
    const findRow = () => this.findRender(tenantViewer, renderId).catch(() => null);
    let closed = false;
    let started = false;
    const initial: Render = current;
    // Asked for only once the viewer may see the render, and only while it can still make any.
    const watch: PreviewWatch | null =
      options.previews && !isTerminal(current.status) ? this.previewWatchers.watch(tenantViewer.tenantId, renderId) : null;
    const release = async () => {
      watch?.stop();
      await unsubscribe();
    };
    async function* events(): AsyncGenerator<RenderEvent, void, undefined> {
      started = true;
      try {
        let lastStep = initial.completedSteps;
        let lastStatus = initial.status;
        yield {
          render: initial,
          step: initial.completedSteps,
          totalSteps: initial.steps,
          etaMs: null,
          preview: null,
          final: isTerminal(initial.status),
          publishedAt: Date.now(),
        };
        if (isTerminal(initial.status)) return;
        for (;;) {
          if (buffered.length === 0) {
            let timer: NodeJS.Timeout | undefined;
            const heard = await new Promise<boolean>((resolve) => {
              wake = () => resolve(true);
              timer = setTimeout(() => resolve(false), resyncMs);
            });
            clearTimeout(timer);
            wake = null;
            if (closed) return;
            if (!heard) {
              // Silence: an event may have been lost (pub/sub reconnecting after a Redis
              // restart drops what was published meanwhile). The row has the truth.
              const row = await findRow();
              if (row && (row.status !== lastStatus || row.completedSteps > lastStep)) {
                buffered.push({
                  render: row,
                  step: row.completedSteps,
                  totalSteps: row.steps,
                  etaMs: null,
                  preview: null,
                  final: isTerminal(row.status),
                  publishedAt: Date.now(),
                });
              }
            }
            if (buffered.length === 0) continue;
          }
          const event = buffered.shift()!;
          // An attempt's first event: its worker follows the preview channel from now on.
          if (watch && event.step === 0 && event.render.status === 'RUNNING') watch.started(event.render.attempts);
          // Events older than the state already sent (published while it was read) add nothing.
          if (!event.final && event.step <= lastStep && event.render.status === lastStatus) continue;
          lastStep = Math.max(lastStep, event.step);
          lastStatus = event.render.status;
          yield event;
          if (event.final || isTerminal(event.render.status)) return;
        }
      } finally {
        await release();
      }
    }
    return {
      [Symbol.asyncIterator]() {
        const generator = events();
        return {
          next: () => generator.next(),
          // A client that leaves ends the wait for the next event at once (an async generator
          // would only see return() at its next yield, holding the subscription until then).
          return: async () => {
            closed = true;
            if (!started) await release();
            wake?.();
            return generator.return(undefined);
          },
          throw: (error: unknown) => generator.throw(error),
          [Symbol.asyncIterator]() {
            return this;
          },
        };
      },
    };
  }
}
