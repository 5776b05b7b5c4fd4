// bench:api's fanout: SUBSCRIBERS graphql-ws clients (in their own thread) on one render's
// renderProgress; lag = client receipt time - the worker's publish time of the same step (read by
// ONE extra listener on the server's pub/sub). The render is kept QUEUED behind blocker renders
// (canceled once every client has subscribed), so each client must receive every event.
import type { Worker } from 'node:worker_threads';
import type { ComposedServer } from '../../test/support/server';
import { decodeEvent, isTerminal, renderProgressChannel } from '../../src/renders/render-progress';
import { fromGlobalId } from '../../src/common/ids';
import { log, percentile, round, sleep, waitUntil } from '../bench-support';
import type { BenchStore } from './bench-store';
import { launchSubscriberThread, type FanoutMessage } from './fanout-subscribers';
import { profiled } from './profile';
import { okRetry } from './retry';
import { BLOCKERS_PER_SLOT, CANCEL, FANOUT_STEPS, SUBSCRIBERS, type BenchSummary } from './settings';

const SLOTS = FANOUT_STEPS + 2;

/** Fills the worker's slots with 100-step renders (the rest queued behind them) once they run. */
async function holdWorker(store: BenchStore, renderConcurrency: number): Promise<string[]> {
  const blockers: string[] = [];
  for (let i = 0; i < BLOCKERS_PER_SLOT * renderConcurrency; i += 1) blockers.push(await store.requestRender(100));
  await waitUntil(
    async () => Promise.all(blockers.slice(0, renderConcurrency).map(store.renderStatus)),
    (s) => s.every((r) => r.status === 'RUNNING'),
    60_000,
    'blockers running',
  );
  return blockers;
}

/** The publish time of each of the target's event slots, from ONE listener on the pub/sub. */
async function listenToPublishes(srv: ComposedServer, tenantId: string, targetRaw: string) {
  const published = new Float64Array(SLOTS);
  let finalPublished: () => void = () => undefined;
  const finalSeen = new Promise<void>((r) => (finalPublished = r));
  const unsubscribe = await srv.pubsub.subscribe(renderProgressChannel(tenantId, targetRaw).name, (message) => {
    const event = decodeEvent(message);
    const slot = event.final || isTerminal(event.render.status) ? FANOUT_STEPS + 1 : event.render.status === 'RUNNING' ? event.step : null;
    if (slot !== null && published[slot] === 0) published[slot] = event.publishedAt;
    if (slot === FANOUT_STEPS + 1) finalPublished();
  });
  return { published, finalSeen, unsubscribe };
}

/** The thread's next message of `kind` (its log lines are printed on the way). */
function nextMessage<K extends FanoutMessage['kind']>(thread: Worker, kind: K): Promise<Extract<FanoutMessage, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FanoutMessage) => {
      if (message.kind === 'log') log(message.line);
      if (message.kind !== kind) return;
      thread.off('message', onMessage);
      resolve(message as Extract<FanoutMessage, { kind: K }>);
    };
    thread.on('message', onMessage);
    thread.once('error', reject);
  });
}

/** Lags over every (client, published event), per-slot p99s, and the (client, event) pairs never received. */
function lagsOf(published: Float64Array, receipts: Float64Array) {
  const lags: number[] = [];
  let lost = 0;
  let expected = 0;
  const perSlotP99: number[] = [];
  for (let slot = 0; slot < SLOTS; slot += 1) {
    if (published[slot] === 0) continue; // never published (e.g. a step skipped): not a loss
    const slotLags: number[] = [];
    for (let c = 0; c < SUBSCRIBERS; c += 1) {
      expected += 1;
      const at = receipts[c * SLOTS + slot]!;
      if (at === 0) lost += 1;
      else slotLags.push(at - published[slot]!);
    }
    slotLags.sort((a, b) => a - b);
    perSlotP99.push(percentile(slotLags, 99));
    lags.push(...slotLags);
  }
  lags.sort((a, b) => a - b);
  return { lags, lost, expected, perSlotP99 };
}

function summarize(published: Float64Array, done: Extract<FanoutMessage, { kind: 'done' }>, summary: BenchSummary): void {
  const { lags, lost, expected, perSlotP99 } = lagsOf(published, done.receipts);
  const publishedSlots = [...published].filter((v) => v > 0).length;
  summary.fanoutSubscribers = SUBSCRIBERS;
  summary.fanoutSteps = FANOUT_STEPS;
  summary.fanoutEventsPublished = publishedSlots;
  summary.fanoutEventsExpected = expected;
  summary.fanoutP50LagMs = percentile(lags, 50);
  summary.fanoutP99LagMs = percentile(lags, 99);
  summary.fanoutMaxLagMs = lags.length ? lags[lags.length - 1] : NaN;
  summary.fanoutEventsLost = lost;
  summary.fanoutCompleted = done.completed;
  summary.fanoutStepIntervalMs =
    publishedSlots > 2 ? round((published[FANOUT_STEPS]! - published[1]!) / Math.max(1, FANOUT_STEPS - 1)) : null;
  summary.fanoutWorstStepP99LagMs = perSlotP99.length ? Math.max(...perSlotP99) : null;
  if (done.errors.length) summary.fanoutErrors = done.errors;
  log(
    `fanout: ${publishedSlots} events x ${SUBSCRIBERS} clients; lag p50 ${summary.fanoutP50LagMs} ms p99 ${summary.fanoutP99LagMs} ms max ${summary.fanoutMaxLagMs} ms; ` +
      `lost ${lost}; ${done.completed} subscriptions completed; one step every ~${summary.fanoutStepIntervalMs} ms`,
  );
}

/** Waits for every client to subscribe, and records whether the target was still QUEUED then. */
async function subscribeAll(thread: Worker, store: BenchStore, target: string, summary: BenchSummary): Promise<void> {
  const subscribed = await nextMessage(thread, 'subscribed');
  log(`${subscribed.count} subscribed (${subscribed.failed} failed) in ${subscribed.ms} ms`);
  summary.fanoutSubscribed = subscribed.count;
  summary.fanoutSubscribeMs = subscribed.ms;
  const stillQueued = (await store.renderStatus(target)).status === 'QUEUED';
  summary.fanoutAllSubscribedBeforeStart = stillQueued;
  if (!stillQueued)
    log('warning: the fanout render started before every client subscribed (events before a late subscription count as lost)');
}

export async function measureFanout(
  srv: ComposedServer,
  store: BenchStore,
  renderConcurrency: number,
  summary: BenchSummary,
): Promise<void> {
  const blockers = await holdWorker(store, renderConcurrency);
  const target = await store.requestRender(FANOUT_STEPS);
  if ((await store.renderStatus(target)).status !== 'QUEUED') throw new Error('the fanout render started before its subscribers');
  const { published, finalSeen, unsubscribe } = await listenToPublishes(srv, store.tenantId, fromGlobalId(target, 'Render')!);
  log(
    `fanout: ${blockers.length} blocker renders (100 steps; ${renderConcurrency} running, the rest queued) hold the worker; render ${target} QUEUED; connecting ${SUBSCRIBERS} graphql-ws clients`,
  );
  const thread = launchSubscriberThread({
    url: store.url,
    token: store.key,
    renderId: target,
    steps: FANOUT_STEPS,
    subscribers: SUBSCRIBERS,
  });
  let threadError: Error | null = null;
  thread.on('error', (error) => (threadError = error));
  await subscribeAll(thread, store, target, summary);
  const doneMessage = nextMessage(thread, 'done');
  const done = await profiled('fanout', async () => {
    for (const id of blockers) await okRetry(store.url, store.key, CANCEL, { id });
    log(`blockers canceled; render ${target} (${FANOUT_STEPS} steps) starts`);
    const startedAt = Date.now();
    await Promise.race([finalSeen, sleep(120_000)]);
    log(`final state published after ${Date.now() - startedAt} ms; waiting for the clients`);
    const timer = setTimeout(() => thread.postMessage('stop'), 15_000);
    const result = await doneMessage;
    clearTimeout(timer);
    return result;
  });
  await unsubscribe();
  if (threadError) throw threadError;
  summarize(published, done, summary);
  await thread.terminate();
}
