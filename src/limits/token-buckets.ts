// Token buckets: each key holds up to `burst` tokens and regains `perSecond` of them every
// second; a request takes one (a batch, one per operation). In memory for one process, or in
// Redis (one Lua script, Redis's own clock) so every API process shares the same buckets.
import type { LimitsRedis } from './limits-redis';

export interface BucketSpec {
  /** Tokens regained per second. */
  perSecond: number;
  /** Most tokens a bucket holds (the burst a quiet client may send at once). */
  burst: number;
}

export interface TakeResult {
  allowed: boolean;
  /** When refused: milliseconds until enough tokens are back. */
  retryAfterMs: number;
}

export interface TokenBuckets {
  /** Takes `count` tokens from `key`'s bucket, or refuses (taking none). */
  take(key: string, spec: BucketSpec, count?: number): Promise<TakeResult>;
  close(): Promise<void>;
}

/** Buckets of this process only; full buckets are forgotten once a minute. */
export class MemoryTokenBuckets implements TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number; spec: BucketSpec }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private refilled(key: string, spec: BucketSpec): { tokens: number; at: number; spec: BucketSpec } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: spec.burst, at: now, spec };
    bucket.tokens = Math.min(spec.burst, bucket.tokens + ((now - bucket.at) * spec.perSecond) / 1000);
    bucket.at = now;
    bucket.spec = spec;
    return bucket;
  }

  async take(key: string, spec: BucketSpec, count = 1): Promise<TakeResult> {
    const bucket = this.refilled(key, spec);
    this.buckets.set(key, bucket);
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: Math.ceil(((count - bucket.tokens) * 1000) / spec.perSecond) };
  }

  private sweep(): void {
    for (const [key, bucket] of this.buckets) {
      if (this.refilled(key, bucket.spec).tokens >= bucket.spec.burst) this.buckets.delete(key);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

/** KEYS[1] bucket; ARGV perSecond, burst, count. Returns {allowed 0/1, retryAfterMs}. */
const TAKE_SCRIPT = `
local perMs = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then tokens = burst; at = now end
if now > at then tokens = math.min(burst, tokens + (now - at) * perMs) end
local allowed = 0
local retry = 0
if tokens >= count then
  tokens = tokens - count
  allowed = 1
else
  retry = math.ceil((count - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / perMs) + 1000)
return {allowed, retry}
`;

type TakeCommand = (key: string, perSecond: number, burst: number, count: number) => Promise<[number, number]>;

/**
 * Buckets in Redis, shared by every process using the same Redis and key prefix. When Redis
 * does not answer within 500 ms (or is down), requests are allowed (fail open): an outage of
 * Redis must not take the API down with it. The connection is the caller's to close.
 */
export class RedisTokenBuckets implements TokenBuckets {
  constructor(
    private readonly redis: LimitsRedis,
    private readonly prefix: string,
  ) {
    redis.client.defineCommand('atelierTakeTokens', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }

  async take(key: string, spec: BucketSpec, count = 1): Promise<TakeResult> {
    try {
      const client = this.redis.client as unknown as { atelierTakeTokens: TakeCommand };
      const [allowed, retryAfterMs] = await client.atelierTakeTokens(`${this.prefix}${key}`, spec.perSecond, spec.burst, count);
      return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : Math.max(1, retryAfterMs) };
    } catch (error) {
      this.redis.warn(error, 'requests are');
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  async close(): Promise<void> {}
}
