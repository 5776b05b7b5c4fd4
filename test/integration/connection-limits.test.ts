// WebSocket connection limits in Redis (when TEST_REDIS_URL is set), straight on the limiter:
// several processes share one count per key; a process that dies without releasing stops
// counting once its leases run out, while a live one keeps its connections counted by renewing.
import { randomBytes } from 'node:crypto';
import { LimitsRedis, MemoryConnectionLimiter, RedisConnectionLimiter, type ConnectionLease } from '../../src/limits';
import { createLogger } from '../../src/observability/logger';

const redisUrl = process.env.TEST_REDIS_URL;
const logger = createLogger('silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('in memory: at most maxPerKey per key; a lease released twice frees one place', async () => {
  const limiter = new MemoryConnectionLimiter(2);
  const first = await limiter.acquire('k');
  expect(await limiter.acquire('k')).not.toBeNull();
  expect(await limiter.acquire('k')).toBeNull();
  expect(await limiter.acquire('other')).not.toBeNull();
  first!.release();
  first!.release();
  expect(await limiter.acquire('k')).not.toBeNull();
  expect(await limiter.acquire('k')).toBeNull();
});

(redisUrl ? describe : describe.skip)('in Redis', () => {
  // Each limiter stands for a process of its own, with its own connection.
  const opened: { redis: LimitsRedis; limiter: RedisConnectionLimiter }[] = [];
  const limiter = (prefix: string, options: { leaseMs: number; renewMs: number }) => {
    const redis = new LimitsRedis(redisUrl!, logger);
    const created = new RedisConnectionLimiter(redis, prefix, 3, options);
    opened.push({ redis, limiter: created });
    return created;
  };
  afterAll(() =>
    Promise.all(
      opened.map(async ({ redis, limiter: l }) => {
        await l.close();
        await redis.close();
      }),
    ),
  );

  test('processes share the count; a released lease frees its place at once', async () => {
    const prefix = `atelier-test:${randomBytes(6).toString('hex')}:`;
    const a = limiter(prefix, { leaseMs: 60_000, renewMs: 30_000 });
    const b = limiter(prefix, { leaseMs: 60_000, renewMs: 30_000 });
    const leases = [await a.acquire('k'), await b.acquire('k'), await a.acquire('k')];
    expect(leases.every((l) => l !== null)).toBe(true);
    expect(await b.acquire('k')).toBeNull();
    expect(await b.acquire('another')).not.toBeNull();
    leases[0]!.release();
    await sleep(100);
    expect(await b.acquire('k')).not.toBeNull();
    expect(await a.acquire('k')).toBeNull();
  });

  test("a dead process's connections stop counting when their leases end; a live one's are renewed", async () => {
    const prefix = `atelier-test:${randomBytes(6).toString('hex')}:`;
    // `dead` never renews (its process died); `live` renews every 100 ms.
    const dead = limiter(prefix, { leaseMs: 600, renewMs: 3_600_000 });
    const live = limiter(prefix, { leaseMs: 600, renewMs: 100 });
    const other = limiter(prefix, { leaseMs: 600, renewMs: 100 });
    const held: (ConnectionLease | null)[] = [await dead.acquire('d'), await dead.acquire('d'), await dead.acquire('d')];
    held.push(await live.acquire('l'), await live.acquire('l'), await live.acquire('l'));
    expect(held.every((l) => l !== null)).toBe(true);
    expect(await other.acquire('d')).toBeNull();
    expect(await other.acquire('l')).toBeNull();
    await sleep(1_200);
    expect(await other.acquire('d')).not.toBeNull();
    expect(await other.acquire('l')).toBeNull();
  });
});
