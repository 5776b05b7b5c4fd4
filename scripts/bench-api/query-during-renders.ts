// bench:api's query during renders: the garments page at 64 connections while RENDERS_DURING_QUERY
// renders run the whole window; also each render's start under load (its RUNNING step-0 event to
// its first step) and how long a step takes from the server thread to its publish.
import type { IntervalHistogram } from 'node:perf_hooks';
import type { ComposedServer } from '../../test/support/server';
import { decodeEvent, isTerminal, renderProgressChannel, type RenderEvent } from '../../src/renders/render-progress';
import { fromGlobalId } from '../../src/common/ids';
import { log, percentile, round, sleep, waitUntil } from '../bench-support';
import type { BenchStore } from './bench-store';
import { describe, type Load, type LoadResult } from './load';
import { profiled } from './profile';
import { okRetry } from './retry';
import { CANCEL, QUERY_RENDER_STEPS, QUERY_SECONDS, RENDERS_DURING_QUERY, type BenchSummary } from './settings';

/**
 * Renders kept running for the whole window. The worker runs RENDERS_DURING_QUERY at once
 * (ATELIER_RENDER_CONCURRENCY) and as many more wait QUEUED, so when one ends the next starts at
 * once; the requester of the one that ended then queues another.
 */
class RenderTraffic {
  keepRendering = true;
  measuring = false;
  rendersStarted = 0;
  stepsDuring = 0;
  readonly runningNow = new Set<string>();
  readonly unfinished = new Set<string>();
  readonly reportDelays: number[] = [];
  /** Per render: when its RUNNING step-0 event was published (the worker took it up). */
  private readonly takenUpAt = new Map<string, number>();
  readonly startDelays: number[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly unsubscribes: (() => Promise<void>)[] = [];

  constructor(
    private readonly srv: ComposedServer,
    private readonly store: BenchStore,
  ) {}

  start(requesters: number): void {
    for (let slot = 0; slot < requesters; slot += 1) this.loops.push(this.requester());
  }

  private async requester(): Promise<void> {
    while (this.keepRendering) {
      const id = await this.store.requestRender(QUERY_RENDER_STEPS);
      this.unfinished.add(id);
      this.rendersStarted += 1;
      await this.untilEnded(id);
    }
  }

  private untilEnded(id: string): Promise<void> {
    const rawId = fromGlobalId(id, 'Render')!;
    return new Promise<void>((resolve) => {
      void this.srv.pubsub
        .subscribe(renderProgressChannel(this.store.tenantId, rawId).name, (message) => {
          if (this.record(rawId, decodeEvent(message))) {
            this.unfinished.delete(id);
            resolve();
          }
        })
        .then((unsubscribe) => this.unsubscribes.push(unsubscribe));
    });
  }

  /** Takes in one progress event of render `rawId`; true when it is the render's last. */
  private record(rawId: string, event: RenderEvent): boolean {
    if (event.render.status === 'RUNNING' && event.step === 0) this.takenUpAt.set(rawId, event.publishedAt);
    if (event.render.status === 'RUNNING' && event.step === 1 && this.measuring && this.takenUpAt.has(rawId))
      this.startDelays.push(event.publishedAt - this.takenUpAt.get(rawId)!);
    if (event.render.status === 'RUNNING' && event.step > 0) {
      this.runningNow.add(rawId);
      if (this.measuring) {
        this.stepsDuring += 1;
        const received = this.store.stepReceivedAt.get(`${event.render.seed}:${event.step}`);
        if (received !== undefined) this.reportDelays.push(event.publishedAt - received);
      }
    }
    if (event.final || isTerminal(event.render.status)) {
      this.runningNow.delete(rawId);
      return true;
    }
    return false;
  }

  /** Cancels what still runs, so the next phase starts from an idle worker. */
  async stop(): Promise<void> {
    this.keepRendering = false;
    for (const id of [...this.unfinished]) await okRetry(this.store.url, this.store.key, CANCEL, { id });
    await Promise.race([Promise.all(this.loops), sleep(30_000)]);
    for (const unsubscribe of this.unsubscribes) await unsubscribe();
  }
}

function summarize(during: LoadResult, traffic: RenderTraffic, minRunning: number[], loop: IntervalHistogram, summary: BenchSummary) {
  summary.queryRpsDuringRenders = round(during.requests.average);
  summary.queryP50MsDuringRenders = during.latency.p50;
  summary.queryP99MsDuringRenders = during.latency.p99;
  summary.queryMaxMsDuringRenders = during.latency.max;
  summary.queryNon2xxDuringRenders = during.non2xx;
  summary.queryErrorsDuringRenders = during.errors + during.timeouts;
  summary.queryEventLoopP99MsDuringRenders = round(loop.percentile(99) / 1e6);
  summary.renderStepsDuringQuery = traffic.stepsDuring;
  const reportDelays = traffic.reportDelays.sort((a, b) => a - b);
  summary.renderStepReportP50MsDuringQuery = percentile(reportDelays, 50);
  summary.renderStepReportP99MsDuringQuery = percentile(reportDelays, 99);
  summary.rendersRunningMin = minRunning.length ? Math.min(...minRunning) : 0;
  // Between one render's end and the next one's first step (request, start, preparation) a slot is empty.
  summary.rendersRunningMean = minRunning.length ? round(minRunning.reduce((a, b) => a + b, 0) / minRunning.length, 2) : 0;
  summary.renderStepsPerSecondDuringQuery = round(traffic.stepsDuring / QUERY_SECONDS, 1);
  // A render's start under load: from its RUNNING step-0 event (the worker took it up) to its
  // first step (inputs loaded, engine prepared, first denoiser call).
  const startDelays = traffic.startDelays.sort((a, b) => a - b);
  summary.renderStartToFirstStepP50MsDuringQuery = percentile(startDelays, 50);
  summary.renderStartToFirstStepMaxMsDuringQuery = startDelays.length ? startDelays[startDelays.length - 1]! : 0;
  summary.renderStartsMeasured = startDelays.length;
}

function report(during: LoadResult, traffic: RenderTraffic, summary: BenchSummary): void {
  log(
    `query during ${RENDERS_DURING_QUERY} renders: ${describe(during)}; server event-loop delay p99 ${summary.queryEventLoopP99MsDuringRenders} ms`,
  );
  log(
    `renders during the window: ${traffic.stepsDuring} steps published (${summary.renderStepsPerSecondDuringQuery}/s over both), ${summary.rendersRunningMean} running on average (sampled every 250 ms, at least ${summary.rendersRunningMin}), ${traffic.rendersStarted} requested; ` +
      `step received on the server thread -> published: p50 ${summary.renderStepReportP50MsDuringQuery} ms p99 ${summary.renderStepReportP99MsDuringQuery} ms (a preview's blob write, then the publish; progress DB writes run beside)`,
  );
  log(
    `render start under load (RUNNING step 0 -> step 1): p50 ${summary.renderStartToFirstStepP50MsDuringQuery} ms, max ${summary.renderStartToFirstStepMaxMsDuringQuery} ms over ${traffic.startDelays.length} renders`,
  );
}

export async function measureQueryDuringRenders(
  srv: ComposedServer,
  store: BenchStore,
  load: Load,
  loop: IntervalHistogram,
  summary: BenchSummary,
): Promise<void> {
  const traffic = new RenderTraffic(srv, store);
  traffic.start(2 * RENDERS_DURING_QUERY);
  await waitUntil(
    async () => traffic.runningNow.size,
    (n) => n >= RENDERS_DURING_QUERY,
    60_000,
    'renders running',
  );
  await load.settle();
  log(`${traffic.runningNow.size} renders of ${QUERY_RENDER_STEPS} steps running; measuring`);
  traffic.measuring = true;
  loop.reset();
  loop.enable();
  const minRunning: number[] = [];
  const sampler = setInterval(() => minRunning.push(traffic.runningNow.size), 250);
  const during = await profiled('query during renders', () => load.cannon(QUERY_SECONDS));
  clearInterval(sampler);
  loop.disable();
  traffic.measuring = false;
  traffic.keepRendering = false;
  summarize(during, traffic, minRunning, loop, summary);
  report(during, traffic, summary);
  await traffic.stop();
}
