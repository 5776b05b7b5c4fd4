// Renders, API side: requesting (validation, quota, idempotency), cancelling, reading (with
// RENDERS_READ; a shopper its own), and the live progress stream. The render itself runs in
// a worker (render-runner.ts); its job is enqueued as render-jobs.ts says.
import { randomInt, randomUUID } from 'node:crypto';
import type { Render, RenderStatus } from './render-types';
import { AuthError, requireScope, requireShopperDataReader, shopperScope, type Viewer } from '../auth/viewer';
import { fromGlobalId, alignToIds } from '../common/ids';
import { ok, refuse, type Outcome, type UserError } from '../common/user-errors';
import { characterCount, hasForbiddenCharacters, invalidCharacters } from '../common/text';
import type { Page, PageRequest } from '../common/pagination';
import type { JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import { publish, subscribe } from '../jobs/channels';
import type { OutfitService } from '../outfits/outfit-service';
import type { PhotoService } from '../photos/photo-service';
import type { Logger } from '../observability/logger';
import type { BlobStore } from '../blobs';
import { ACTIVE, type RenderRepository } from './render-repository';
import { isTerminal, renderCancelChannel, renderEvent, renderProgressChannel, type RenderEvent } from './render-progress';
import { PreviewWatchers, type PreviewWatch } from './preview-demand';
import { enqueueRender } from './render-jobs';
import { renderError } from './render-errors';

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

export class RenderService {
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
      await publish(this.pubsub, renderCancelChannel(render.tenantId, render.id), true);
      await publish(this.pubsub, renderProgressChannel(render.tenantId, render.id), renderEvent(render));
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
    const inbox = new EventInbox();
    // The channel carries the viewer's own tenant, so subscribing before the check reveals nothing.
    const unsubscribe = await subscribe(this.pubsub, renderProgressChannel(tenantViewer.tenantId, renderId), (event) => inbox.push(event));
    const current = await this.findRender(tenantViewer, renderId).catch(async (error: unknown) => {
      await unsubscribe();
      throw error;
    });
    if (!current) {
      await unsubscribe();
      throw new AuthError('NOT_FOUND', 'no render with this id');
    }
    // Asked for only once the viewer may see the render, and only while it can still make any.
    const watch: PreviewWatch | null =
      options.previews && !isTerminal(current.status) ? this.previewWatchers.watch(tenantViewer.tenantId, renderId) : null;
    return new ProgressStream({
      initial: current,
      inbox,
      resyncMs: this.progressResyncMs,
      findRow: () => this.findRender(tenantViewer, renderId).catch(() => null),
      watch,
      release: async () => {
        watch?.stop();
        await unsubscribe();
      },
    });
  }
}

/** Events heard on a render's channel, not yet sent. */
class EventInbox {
  private readonly buffered: RenderEvent[] = [];
  private wake: (() => void) | null = null;

  push(event: RenderEvent): void {
    this.buffered.push(event);
    this.wake?.();
  }

  shift(): RenderEvent | undefined {
    return this.buffered.shift();
  }

  get empty(): boolean {
    return this.buffered.length === 0;
  }

  /** Waits for an event, at most `ms`; true when one came (or interrupt() was called), false after silence. */
  async wait(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const heard = await new Promise<boolean>((resolve) => {
      this.wake = () => resolve(true);
      timer = setTimeout(() => resolve(false), ms);
    });
    clearTimeout(timer);
    this.wake = null;
    return heard;
  }

  /** Ends a wait at once. */
  interrupt(): void {
    this.wake?.();
  }
}

interface ProgressFeed {
  initial: Render;
  inbox: EventInbox;
  /** A subscription that hears nothing for this long re-reads its render (ms). */
  resyncMs: number;
  /** The render's row now (null when it is gone or cannot be read). */
  findRow: () => Promise<Render | null>;
  watch: PreviewWatch | null;
  /** Unsubscribes (and stops watching previews); once. */
  release: () => Promise<void>;
}

/**
 * A subscription's events: the render's state when it began, then each newer event heard, until
 * the final one. A client that leaves ends the wait for the next event at once (an async
 * generator would only see return() at its next yield, holding the subscription until then).
 */
class ProgressStream implements AsyncIterable<RenderEvent> {
  private closed = false;
  private started = false;

  constructor(private readonly feed: ProgressFeed) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<RenderEvent> {
    const generator = this.events();
    const iterator: AsyncIterableIterator<RenderEvent> = {
      next: () => generator.next(),
      return: async () => {
        this.closed = true;
        if (!this.started) await this.feed.release();
        this.feed.inbox.interrupt();
        return generator.return(undefined);
      },
      throw: (error: unknown) => generator.throw(error),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private async *events(): AsyncGenerator<RenderEvent, void, undefined> {
    this.started = true;
    const { initial, watch } = this.feed;
    try {
      let last = { step: initial.completedSteps, status: initial.status };
      yield renderEvent(initial);
      if (isTerminal(initial.status)) return;
      for (;;) {
        const event = await this.next(last);
        if (this.closed) return;
        if (!event) continue;
        // An attempt's first event: its worker follows the preview channel from now on.
        if (watch && event.step === 0 && event.render.status === 'RUNNING') watch.started(event.render.attempts);
        // Events older than the state already sent (published while it was read) add nothing.
        if (!event.final && event.step <= last.step && event.render.status === last.status) continue;
        last = { step: Math.max(last.step, event.step), status: event.render.status };
        yield event;
        if (event.final || isTerminal(event.render.status)) return;
      }
    } finally {
      await this.feed.release();
    }
  }

  /** The next event heard; after a silence, the row's state when it moved on (an event may have been lost). */
  private async next(last: { step: number; status: RenderStatus }): Promise<RenderEvent | undefined> {
    const { inbox } = this.feed;
    if (!inbox.empty) return inbox.shift();
    const heard = await inbox.wait(this.feed.resyncMs);
    if (this.closed) return undefined;
    if (!heard) {
      // Silence: pub/sub reconnecting after a Redis restart drops what was published meanwhile. The row has the truth.
      const row = await this.feed.findRow();
      if (row && (row.status !== last.status || row.completedSteps > last.step)) return renderEvent(row);
    }
    return inbox.shift();
  }
}
