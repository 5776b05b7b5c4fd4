// The render job, run by a worker: takes the render (one transaction that also reads its
// inputs), gets its garments' reference caches and its person's encoding from their domains,
// runs the engine while publishing progress (and previews while someone watches), stores the
// result, finishes the row, and tells subscribers and webhooks. Cancellation arrives over
// pub/sub; a worker that stops mid-render costs one of the render's attempts.
import type { Render } from './render-types';
import type { Engine, RenderGarment, RenderResult, StepProgress } from '../inference';
import { InferenceError, isPermanentEngineError } from '../inference/errors';
import type { BlobStore } from '../blobs';
import type { JobContext, JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import { publish, subscribe } from '../jobs/channels';
import type { Logger } from '../observability/logger';
import { toGlobalId } from '../common/ids';
import type { EventNotifier } from '../webhooks/webhook-events';
import type { RenderGarmentRows } from '../garments/reference-cache-jobs';
import type { RenderPerson, RenderPersonRows } from '../photos/person-encoding-jobs';
import type { RenderInputRows, RenderRepository } from './render-repository';
import { followPreviewDemand, type PreviewDemand } from './preview-demand';
import { MAX_RENDER_ATTEMPTS } from './render-jobs';
import type { RenderFailureCode } from './render-errors';
import { renderCancelChannel, renderEvent, renderProgressChannel, type RenderPreview, type StepReport } from './render-progress';

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

export interface RenderRunnerDeps {
  engine: Engine;
  blobs: BlobStore;
  pubsub: PubSub;
  renders: RenderRepository;
  /** The garments domain's reference caches (garments/reference-cache-jobs.ts). */
  referenceCaches: { forRender(tenantId: string, rows: RenderGarmentRows, computed: { referenceMs: number }): Promise<RenderGarment> };
  /** The photos domain's person encodings (photos/person-encoding-jobs.ts). */
  personEncodings: { forRender(tenantId: string, rows: RenderPersonRows): Promise<RenderPerson> };
  notifier: EventNotifier;
  logger: Logger;
  /** At least this long (ms) between two previews of a render. Default 500. */
  previewIntervalMs?: number;
}

/** A render being run: what its functions share. */
interface Run {
  tenantId: string;
  renderId: string;
  render: Render;
  rows: RenderInputRows;
  ctx: JobContext;
  /** When the job took the render (performance.now()). */
  taken: number;
  previewPrefix: string;
  signal: AbortSignal;
  demand: PreviewDemand;
}

/** Registers the render job in this worker: `concurrency` renders at once (they share denoiser calls). */
export function registerRenderJobs(queue: JobQueue, deps: RenderRunnerDeps, concurrency = 4): RenderRunner {
  const runner = new RenderRunner(deps);
  queue.process('render', (p, ctx) => runner.run(p.tenantId, p.renderId, ctx), { concurrency });
  return runner;
}

export class RenderRunner {
  constructor(private readonly deps: RenderRunnerDeps) {}

  async run(tenantId: string, renderId: string, ctx: JobContext): Promise<void> {
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
    if (!startedWith || startedWith.render.attempts > MAX_RENDER_ATTEMPTS) {
      await stopFollowing();
      // Canceled or finished meanwhile, or interrupted too often; an attempt on a worker that stopped may have left previews.
      await this.deletePreviews(previewPrefix);
      if (startedWith) await this.failWorkerLost(tenantId, renderId);
      return;
    }
    const { render, inputs: rows } = startedWith;
    logger.info({ renderId, tenantId, attempt: render.attempts }, 'render started');
    const { demand, stop } = await following;
    try {
      await this.execute({ tenantId, renderId, render, rows, ctx, taken, previewPrefix, signal: controller.signal, demand });
    } finally {
      await stop();
    }
  }

  private get model(): string {
    return this.deps.engine.model.id;
  }

  /** Runs the started render to its end: SUCCEEDED, FAILED, or requeued (thrown) for another attempt. */
  private async execute(run: Run): Promise<void> {
    const computed = { referenceMs: 0 };
    // The blobs are read while the step-0 event goes out.
    const inputs = this.renderInputs(run.tenantId, run.rows, computed);
    inputs.catch(() => undefined); // awaited below; this only keeps an early failure handled
    // An earlier attempt, on a worker that stopped, may have left previews.
    const steps = new StepReporter(this.deps, run.render, run.previewPrefix, run.render.attempts > 1);
    try {
      const [, { references, person }] = await Promise.all([
        this.publish(run.render, { step: 0, totalSteps: run.render.steps, etaMs: null }),
        inputs,
      ]);
      const loadedMs = performance.now() - run.taken;
      const { render } = run;
      const request = { personImage: person.image, personHot: person.encoding, garments: references };
      const result = await this.deps.engine.render(
        { ...request, steps: render.steps, guidanceScale: render.guidanceScale, seed: render.seed },
        {
          signal: run.signal,
          // Only while someone watches with previews: true (preview-demand.ts).
          previews: run.demand.wanted,
          previewIntervalMs: this.deps.previewIntervalMs ?? PREVIEW_INTERVAL_MS,
          onStep: (progress) => steps.onStep(progress),
        },
      );
      await this.storeAndFinish(run, result, steps, { loadedMs, referenceMs: computed.referenceMs });
    } catch (error) {
      await steps.settle();
      await this.deletePreviews(run.previewPrefix);
      await this.failed(run, error);
    }
  }

  /** Stores the result while the last reports go out and the previews are deleted, then finishes the row. */
  private async storeAndFinish(
    run: Run,
    result: RenderResult,
    steps: StepReporter,
    measured: { loadedMs: number; referenceMs: number },
  ): Promise<void> {
    const engineDone = performance.now();
    const resultKey = `results/${run.tenantId}/${run.renderId}`;
    await Promise.all([
      this.deps.blobs.put(resultKey, result.image, 'image/png'),
      (async () => {
        await steps.settle();
        if (steps.previewsToDelete) await this.deletePreviews(run.previewPrefix);
      })(),
    ]);
    const stored = performance.now();
    const engine = result.timings;
    // The engine's work before its first step (reading the blobs it does not hold, loading the
    // caches into K/V, masks) is loading too; a cache computed in there (its blob was gone)
    // is counted in referenceMs, wherever it ran.
    const engineLoadMs = Math.max(0, engine.totalMs - engine.denoiseMs - engine.decodeMs - engine.composeMs);
    const done = await this.deps.renders.finish(run.tenantId, run.renderId, {
      status: 'SUCCEEDED',
      completedSteps: run.render.steps,
      resultKey,
      resultWidth: result.width,
      resultHeight: result.height,
      loadMs: Math.max(0, measured.loadedMs + engineLoadMs - measured.referenceMs),
      referenceMs: measured.referenceMs,
      denoiseMs: engine.denoiseMs,
      decodeMs: engine.decodeMs,
      finishMs: engine.composeMs + (stored - engineDone),
      totalMs: stored - run.taken,
    });
    if (done) await this.publishFinal(done);
    else await this.deps.blobs.delete(resultKey); // canceled in the last moment
  }

  /** After a failure: nothing when canceled, FAILED when another attempt would fail too (or none is left), else requeued. */
  private async failed(run: Run, error: unknown): Promise<void> {
    const { renders, logger } = this.deps;
    const current = await renders.find(run.tenantId, run.renderId);
    if (!current || current.status === 'CANCELED') return; // cancelRender published the final event
    if (isPermanentEngineError(error) && error.code !== 'CANCELED') {
      await this.finishFailed(run.tenantId, run.renderId, error.code, error.message);
      return;
    }
    logger.error({ err: error, renderId: run.renderId, attempt: run.ctx.attempt }, 'render failed');
    if (run.ctx.attempt < run.ctx.maxAttempts) {
      await renders.requeue(run.tenantId, run.renderId);
      throw error;
    }
    await this.finishFailed(run.tenantId, run.renderId, 'INTERNAL', 'the render failed on every attempt');
  }

  private failWorkerLost(tenantId: string, renderId: string): Promise<void> {
    const message = `the render was interrupted ${MAX_RENDER_ATTEMPTS} times (a worker stopped while running it)`;
    return this.finishFailed(tenantId, renderId, 'WORKER_LOST', message);
  }

  private async finishFailed(tenantId: string, renderId: string, errorCode: RenderFailureCode, errorMessage: string): Promise<void> {
    const failed = await this.deps.renders.finish(tenantId, renderId, { status: 'FAILED', errorCode, errorMessage });
    if (failed) await this.publishFinal(failed);
  }

  /** A render's blobs, from the rows read when it started: the garments' caches and the photo's encoding, all at once. */
  private async renderInputs(
    tenantId: string,
    rows: RenderInputRows,
    computed: { referenceMs: number },
  ): Promise<{ references: RenderGarment[]; person: RenderPerson }> {
    const photo = rows.photo;
    if (!photo) throw new InferenceError('INVALID_REQUEST', 'the person photo no longer exists');
    const [references, person] = await Promise.all([
      Promise.all(rows.garments.map((garment) => this.deps.referenceCaches.forRender(tenantId, garment, computed))),
      this.deps.personEncodings.forRender(tenantId, { photo, encoding: rows.encoding }),
    ]);
    return { references, person };
  }

  private publish(render: Render, progress?: StepReport): Promise<void> {
    return publish(this.deps.pubsub, renderProgressChannel(render.tenantId, render.id), renderEvent(render, progress));
  }

  private async publishFinal(render: Render): Promise<void> {
    await this.publish(render);
    if (render.status !== 'SUCCEEDED' && render.status !== 'FAILED') return;
    const data = {
      renderId: toGlobalId('Render', render.id),
      status: render.status,
      ...(render.errorCode ? { error: { code: render.errorCode, message: render.errorMessage } } : {}),
      totalMs: render.totalMs,
    };
    const event = render.status === 'SUCCEEDED' ? 'RENDER_SUCCEEDED' : 'RENDER_FAILED';
    // Best effort here: its failure must not fail (and retry) finished work.
    await this.deps.notifier
      .notify(render.tenantId, event, data)
      .catch((error: unknown) =>
        this.deps.logger.error({ err: error, tenantId: render.tenantId, event }, 'could not record a webhook event'),
      );
  }

  /** Subscribes to a render's cancel and preview channels; all or nothing. */
  private async followRender(
    tenantId: string,
    renderId: string,
    onCancel: () => void,
  ): Promise<{ demand: PreviewDemand; stop: () => Promise<void> }> {
    const [cancel, demand] = await Promise.allSettled([
      subscribe(this.deps.pubsub, renderCancelChannel(tenantId, renderId), onCancel),
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
}

/**
 * A render's step reports, published one after another so subscribers see steps in order, and
 * its previews, stored one after another beside the reports, never in their way: on a busy
 * process a blob write takes several turns of the event loop, which held up each step event
 * that carried a preview. A stored preview rides on the next step event published.
 */
class StepReporter {
  private reports = Promise.resolve();
  private previewWrites = Promise.resolve();
  private storedPreview: RenderPreview | null = null;
  /** At most one progress write in flight; it never holds up the next step's publish. */
  private writing: Promise<void> | null = null;
  /** The first step is written at once (a reader polling the row sees the render move), then at most one write per PROGRESS_WRITE_MS. */
  private lastWrite = 0;
  private readonly previewKeys: string[] = [];

  constructor(
    private readonly deps: Pick<RenderRunnerDeps, 'pubsub' | 'blobs' | 'renders' | 'logger'>,
    private running: Render,
    private readonly previewPrefix: string,
    /** Whether the render's previews must be deleted at its end (it made some, or an earlier attempt may have). */
    public previewsToDelete: boolean,
  ) {}

  onStep(progress: StepProgress): void {
    const made = progress.preview;
    if (made) {
      this.previewsToDelete = true;
      this.previewWrites = this.previewWrites
        .then(() => this.storePreview(progress.step, made))
        .catch((error: unknown) => this.deps.logger.warn({ err: error, renderId: this.running.id }, 'preview write failed'));
    }
    this.reports = this.reports
      .then(() => this.report(progress))
      .catch((error: unknown) => this.deps.logger.warn({ err: error, renderId: this.running.id }, 'progress report failed'));
  }

  /** Waits for the reports, the last progress write and the preview writes in flight. */
  async settle(): Promise<void> {
    await this.reports;
    await this.writing; // the last report may have started one
    await this.previewWrites;
  }

  private async storePreview(step: number, made: NonNullable<StepProgress['preview']>): Promise<void> {
    // A key per preview: the same key would keep one URL, which browsers cache.
    const key = `${this.previewPrefix}/${step}`;
    await this.deps.blobs.put(key, made.png, 'image/png');
    this.previewKeys.push(key);
    if (this.previewKeys.length > PREVIEWS_KEPT) void this.deleteBlobs(this.previewKeys.splice(0, this.previewKeys.length - PREVIEWS_KEPT));
    this.storedPreview = { key, width: made.width, height: made.height };
  }

  private async report(progress: StepProgress): Promise<void> {
    const preview = this.storedPreview;
    this.storedPreview = null;
    const render = (this.running = { ...this.running, completedSteps: progress.step });
    const { step, totalSteps, etaMs } = progress;
    await publish(
      this.deps.pubsub,
      renderProgressChannel(render.tenantId, render.id),
      renderEvent(render, { step, totalSteps, etaMs, preview }),
    );
    const now = Date.now();
    if (this.writing === null && now - this.lastWrite >= PROGRESS_WRITE_MS) {
      this.lastWrite = now;
      this.writing = this.deps.renders
        .progress(render.tenantId, render.id, step, new Date(now))
        .catch((error: unknown) => this.deps.logger.warn({ err: error, renderId: render.id }, 'progress write failed'))
        .finally(() => {
          this.writing = null;
        });
    }
  }

  /** Best effort: a file left behind costs only space. */
  private async deleteBlobs(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.deps.blobs.delete(key).catch((error: unknown) => this.deps.logger.warn({ err: error, key }, 'could not delete a preview'));
    }
  }
}
