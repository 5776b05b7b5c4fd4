// The preview lease between API processes and the worker running a render, over a real
// (in-process) pub/sub: on while a subscription with previews watches, off one lease after
// the last one left, and heard by a worker that starts following after the watch began.
import { InProcessPubSub } from '../../src/jobs/in-process-pubsub';
import { createLogger } from '../../src/observability/logger';
import { followPreviewDemand, previewDemandChannel, PreviewWatchers, type PreviewDemand } from '../../src/renders/preview-demand';

const tenantId = '00000000-0000-4000-8000-000000000001';
const renderId = '00000000-0000-4000-8000-0000000000aa';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('preview demand', () => {
  let pubsub: InProcessPubSub;
  let watchers: PreviewWatchers;
  let demand: PreviewDemand | null = null;
  beforeEach(() => {
    pubsub = new InProcessPubSub();
    watchers = new PreviewWatchers(pubsub, createLogger('silent'), { leaseMs: 150, renewMs: 50 });
  });
  afterEach(async () => {
    await demand?.stop();
    demand = null;
    await pubsub.close();
  });

  test('nobody watching: no previews', async () => {
    demand = await followPreviewDemand(pubsub, tenantId, renderId);
    expect(demand.wanted()).toBe(false);
    // Another render's watcher changes nothing.
    const other = watchers.watch(tenantId, '00000000-0000-4000-8000-0000000000bb');
    await sleep(20);
    expect(demand.wanted()).toBe(false);
    other.stop();
  });

  test('wanted while watched, renewed past the lease, off one lease after the last watcher leaves', async () => {
    demand = await followPreviewDemand(pubsub, tenantId, renderId);
    const first = watchers.watch(tenantId, renderId);
    const second = watchers.watch(tenantId, renderId);
    expect(demand.wanted()).toBe(true);
    expect(watchers.size).toBe(1); // one renewal for both
    first.stop();
    first.stop(); // twice is once
    await sleep(400); // well past one lease: the remaining watcher renews it
    expect(demand.wanted()).toBe(true);
    second.stop();
    expect(watchers.size).toBe(0);
    await sleep(250);
    expect(demand.wanted()).toBe(false);
  });

  test("a worker that starts following after the watch began hears it at the render's start", async () => {
    const watch = watchers.watch(tenantId, renderId);
    demand = await followPreviewDemand(pubsub, tenantId, renderId);
    expect(demand.wanted()).toBe(false); // the first announcement went out before
    watch.started(1);
    expect(demand.wanted()).toBe(true);
    watch.stop();
  });

  test('an announcement that is not a positive lease is ignored', async () => {
    demand = await followPreviewDemand(pubsub, tenantId, renderId);
    await pubsub.publish(previewDemandChannel(tenantId, renderId).name, 'not a number');
    await pubsub.publish(previewDemandChannel(tenantId, renderId).name, '-5');
    expect(demand.wanted()).toBe(false);
  });
});
