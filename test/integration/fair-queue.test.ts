// Fairness between tenants in the job queue, on the in-process queue and on BullMQ with a real
// Redis (TEST_REDIS_URL) alike: jobs run by their place in their tenant's backlog, so a tenant
// with one job waiting goes ahead of another's long backlog; and a consumer's maxPerGroup
// keeps one tenant from holding every slot.
import { randomBytes } from 'node:crypto';
import { InProcessJobQueue } from '../../src/jobs/in-process-queue';
import { BullMqJobQueue } from '../../src/jobs/bullmq-queue';
import { backlogPriority, type JobQueue } from '../../src/jobs/job-queue';

const drivers: { name: string; make: () => JobQueue }[] = [
  { name: 'in-process', make: () => new InProcessJobQueue() },
  ...(process.env.TEST_REDIS_URL
    ? [
        {
          name: 'BullMQ',
          make: () =>
            new BullMqJobQueue(process.env.TEST_REDIS_URL!, { prefix: `atelier-test-${randomBytes(4).toString('hex')}`, groupRetryMs: 50 }),
        },
      ]
    : []),
];
if (!process.env.TEST_REDIS_URL) process.stdout.write('fair-queue: BullMQ skipped: TEST_REDIS_URL is not set\n');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(drivers)('fair job queue: $name', ({ make }) => {
  let queue: JobQueue;
  beforeEach(() => {
    queue = make();
  });
  afterEach(() => queue.close());

  test("a tenant with one job waiting runs next, ahead of the rest of another tenant's 16", async () => {
    for (let i = 1; i <= 16; i += 1) {
      await queue.enqueue(
        'render',
        { tenantId: 'big', renderId: `big-${i}` },
        { jobId: `big-${i}`, priority: backlogPriority(i), group: 'big' },
      );
    }
    await queue.enqueue(
      'render',
      { tenantId: 'small', renderId: 'small-1' },
      { jobId: 'small-1', priority: backlogPriority(1), group: 'small' },
    );
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      queue.process('render', async ({ renderId }) => {
        order.push(renderId);
        await sleep(5);
        if (order.length === 17) resolve();
      });
    });
    await done;
    // Equal places run in the order they came: the big tenant's first, then the small one's.
    expect(order.slice(0, 3)).toEqual(['big-1', 'small-1', 'big-2']);
    expect(order.filter((id) => id.startsWith('big'))).toEqual(Array.from({ length: 16 }, (_, i) => `big-${i + 1}`));
  });

  test("maxPerGroup: a tenant whose jobs hang holds at most its share of the slots; another tenant's job runs at once", async () => {
    const running = new Map<string, number>();
    let mostBigAtOnce = 0;
    let release!: () => void;
    const hang = new Promise<void>((resolve) => (release = resolve));
    let smallStarted!: () => void;
    const small = new Promise<void>((resolve) => (smallStarted = resolve));
    queue.process(
      'webhook-delivery',
      async ({ tenantId }) => {
        running.set(tenantId, (running.get(tenantId) ?? 0) + 1);
        mostBigAtOnce = Math.max(mostBigAtOnce, running.get('big') ?? 0);
        if (tenantId === 'small') smallStarted();
        else await hang;
        running.set(tenantId, running.get(tenantId)! - 1);
      },
      { concurrency: 4, maxPerGroup: 2 },
    );
    for (let i = 1; i <= 6; i += 1) {
      await queue.enqueue(
        'webhook-delivery',
        { tenantId: 'big', deliveryId: `d${i}` },
        { jobId: `big-${i}`, priority: backlogPriority(i), group: 'big' },
      );
    }
    await sleep(200);
    await queue.enqueue(
      'webhook-delivery',
      { tenantId: 'small', deliveryId: 's1' },
      { jobId: 'small-1', priority: backlogPriority(1), group: 'small' },
    );
    const started = Date.now();
    await Promise.race([small, sleep(5_000)]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(running.get('big')).toBe(2);
    expect(mostBigAtOnce).toBe(2);
    release();
  });
});
