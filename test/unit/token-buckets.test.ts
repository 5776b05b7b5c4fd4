// Token buckets taken together (a request counts against its token's, its tenant's and its
// address's buckets): all or none, in memory and in Redis alike; and the address a rate limit
// counts (IPv6 by its /64).
import { randomBytes } from 'node:crypto';
import { addressKeyOf, LimitsRedis, MemoryTokenBuckets, RedisTokenBuckets, type TokenBuckets } from '../../src/limits';
import { createLogger } from '../../src/observability/logger';

const slow = (burst: number) => ({ perSecond: 0.001, burst });

function contract(name: string, open: () => Promise<{ buckets: TokenBuckets; close: () => Promise<void> }>) {
  describe(`takeAll (${name})`, () => {
    let buckets: TokenBuckets;
    let close: () => Promise<void>;
    beforeAll(async () => ({ buckets, close } = await open()));
    afterAll(() => close());

    test('takes from every bucket, or from none when one is short', async () => {
      const own = { key: 'own', spec: slow(5) };
      const shared = { key: 'shared', spec: slow(3) };
      for (let i = 0; i < 3; i += 1) expect((await buckets.takeAll([own, shared])).allowed).toBe(true);
      const refused = await buckets.takeAll([own, shared]);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      // The refusal took nothing from `own`: it still has 2.
      expect((await buckets.take('own', slow(5), 2)).allowed).toBe(true);
      expect((await buckets.take('own', slow(5))).allowed).toBe(false);
    });

    test('another token sharing the aggregate finds it empty; one with its own aggregate does not', async () => {
      const shared = { key: 'tenant', spec: slow(2) };
      expect((await buckets.takeAll([{ key: 'a', spec: slow(5) }, shared], 2)).allowed).toBe(true);
      expect((await buckets.takeAll([{ key: 'b', spec: slow(5) }, shared])).allowed).toBe(false);
      expect(
        (
          await buckets.takeAll([
            { key: 'b', spec: slow(5) },
            { key: 'other-tenant', spec: slow(2) },
          ])
        ).allowed,
      ).toBe(true);
    });

    test('retryAfterMs is the longest wait of the short buckets', async () => {
      const fast = { key: 'fast', spec: { perSecond: 10, burst: 1 } };
      const slower = { key: 'slower', spec: { perSecond: 1, burst: 1 } };
      expect((await buckets.takeAll([fast, slower])).allowed).toBe(true);
      const refused = await buckets.takeAll([fast, slower]);
      expect(refused.retryAfterMs).toBeGreaterThan(500);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
    });
  });
}

contract('memory', async () => {
  const buckets = new MemoryTokenBuckets();
  return { buckets, close: () => buckets.close() };
});

const redisUrl = process.env.TEST_REDIS_URL;
(redisUrl ? contract : describe.skip)('Redis', async () => {
  const redis = new LimitsRedis(redisUrl!, createLogger('silent'));
  const buckets = new RedisTokenBuckets(redis, `atelier-test:${randomBytes(6).toString('hex')}:`);
  return { buckets, close: () => redis.close() };
});

describe('addressKeyOf', () => {
  test.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    // Every address of one /64 counts as one.
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s -> %s', (address, key) => {
    expect(addressKeyOf(address)).toBe(key);
  });
});
