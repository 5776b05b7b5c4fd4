// Token buckets: each key holds up to `burst` tokens and regains `perSecond` of them every
// second; a request takes one (a batch, one per operation). A request may count against
// several buckets at once (its token's, its tenant's, its address's): it takes from all of them
// or, when any is short, from none. In memory for one process, or in Redis (one Lua script,
// Redis's own clock) so every API process shares the same buckets.
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

/** One bucket a request counts against. */
export interface BucketRequest {
  key: string;
  spec: BucketSpec;
}

export interface TokenBuckets {
  /** Takes `count` tokens from `key`'s bucket, or refuses (taking none). */
  take(key: string, spec: BucketSpec, count?: number): Promise<TakeResult>;
  /** Takes `count` tokens from every bucket, or, when any is short, refuses (taking none): retryAfterMs is the longest wait. */
  takeAll(buckets: readonly BucketRequest[], count?: number): Promise<TakeResult>;
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

  take(key: string, spec: BucketSpec, count = 1): Promise<TakeResult> {
    return this.takeAll([{ key, spec }], count);
  }

  async takeAll(requests: readonly BucketRequest[], count = 1): Promise<TakeResult> {
    const buckets = requests.map(({ key, spec }) => {
      const bucket = this.refilled(key, spec);
      this.buckets.set(key, bucket);
      return bucket;
    });
    let retryAfterMs = 0;
    for (const bucket of buckets) {
      if (bucket.tokens < count) retryAfterMs = Math.max(retryAfterMs, Math.ceil(((count - bucket.tokens) * 1000) / bucket.spec.perSecond));
    }
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
    for (const bucket of buckets) bucket.tokens -= count;
    return { allowed: true, retryAfterMs: 0 };
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

/**
 * KEYS: the buckets; ARGV[1] count, then perSecond and burst of each bucket in turn. Returns
 * {allowed 0/1, retryAfterMs}: every bucket gives `count` tokens, or none gives any.
 */
const TAKE_ALL_SCRIPT = `
local count = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local levels = {}
local retry = 0
for i, key in ipairs(KEYS) do
  local perMs = tonumber(ARGV[2 * i]) / 1000
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then tokens = burst; at = now end
  if now > at then tokens = math.min(burst, tokens + (now - at) * perMs) end
  levels[i] = tokens
  if tokens < count then retry = math.max(retry, math.max(1, math.ceil((count - tokens) / perMs))) end
end
local allowed = 0
if retry == 0 then allowed = 1 end
for i, key in ipairs(KEYS) do
  local perMs = tonumber(ARGV[2 * i]) / 1000
  local burst = tonumber(ARGV[2 * i + 1])
  local tokens = levels[i]
  if allowed == 1 then tokens = tokens - count end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(burst / perMs) + 1000)
end
return {allowed, retry}
`;

type TakeAllCommand = (keyCount: number, ...keysThenArgs: (string | number)[]) => Promise<[number, number]>;

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
    // The number of keys varies: it is passed first on each call.
    redis.client.defineCommand('atelierTakeAllTokens', { lua: TAKE_ALL_SCRIPT });
  }

  take(key: string, spec: BucketSpec, count = 1): Promise<TakeResult> {
    return this.takeAll([{ key, spec }], count);
  }

  async takeAll(requests: readonly BucketRequest[], count = 1): Promise<TakeResult> {
    if (requests.length === 0) return { allowed: true, retryAfterMs: 0 };
    try {
      const client = this.redis.client as unknown as { atelierTakeAllTokens: TakeAllCommand };
      const keys = requests.map(({ key }) => `${this.prefix}${key}`);
      const args = requests.flatMap(({ spec }) => [spec.perSecond, spec.burst]);
      const [allowed, retryAfterMs] = await client.atelierTakeAllTokens(keys.length, ...keys, count, ...args);
      return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : Math.max(1, retryAfterMs) };
    } catch (error) {
      this.redis.warn(error, 'requests are');
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  async close(): Promise<void> {}
}
