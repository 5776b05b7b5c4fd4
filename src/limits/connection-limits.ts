// How many graphql-ws connections one caller key (a token, or an address without one) may hold
// open at once: counted in this process, or, with Redis, across every API process. In Redis
// each key is a sorted set of the connections open under it, scored by when their lease ends;
// each process renews the leases of its own open connections, so the connections of a process
// that died stop counting once their leases run out.
import { randomUUID } from 'node:crypto';
import { settlesWithin } from '../common/deadline';
import type { LimitsRedis } from './limits-redis';

/** One counted connection; release it when the connection closes. */
export interface ConnectionLease {
  release(): void;
}

export interface ConnectionLimiter {
  readonly maxPerKey: number;
  /** Counts one more connection for `key`, or returns null when it already has the most. */
  acquire(key: string): Promise<ConnectionLease | null>;
  close(): Promise<void>;
}

/** This process's connections only. */
export class MemoryConnectionLimiter implements ConnectionLimiter {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerKey: number) {}

  async acquire(key: string): Promise<ConnectionLease | null> {
    const current = this.open.get(key) ?? 0;
    if (current >= this.maxPerKey) return null;
    this.open.set(key, current + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const now = this.open.get(key) ?? 0;
        if (now <= 1) this.open.delete(key);
        else this.open.set(key, now - 1);
      },
    };
  }

  async close(): Promise<void> {}
}

/** KEYS[1] the key's set; ARGV max, leaseMs, connection id. Returns 1 when counted. */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

/** KEYS the sets; ARGV leaseMs, then one connection id per key. Renews leases still counted. */
const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if redis.call('ZADD', key, 'XX', 'CH', now + lease, ARGV[i + 1]) == 1 then redis.call('PEXPIRE', key, lease) end
end
return 0
`;

type AcquireCommand = (key: string, max: number, leaseMs: number, id: string) => Promise<number>;
type RenewCommand = (numberOfKeys: number, ...args: (string | number)[]) => Promise<number>;

export interface RedisConnectionLimiterOptions {
  /** How long a connection counts without being renewed (ms). Default 90000. */
  leaseMs?: number;
  /** How often this process renews its connections' leases (ms). Default 30000. */
  renewMs?: number;
}

/**
 * Every API process sharing the Redis and key prefix counts against the same limit. When Redis
 * does not answer within 500 ms (or is down), connections are let in (fail open, as the rate
 * limits do). The connection is the caller's to close.
 */
export class RedisConnectionLimiter implements ConnectionLimiter {
  /** This process's counted connections: id -> Redis key. */
  private readonly held = new Map<string, string>();
  private readonly renewer: NodeJS.Timeout;
  private readonly leaseMs: number;

  constructor(
    private readonly redis: LimitsRedis,
    private readonly prefix: string,
    readonly maxPerKey: number,
    options: RedisConnectionLimiterOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 90_000;
    redis.client.defineCommand('atelierAcquireConnection', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    redis.client.defineCommand('atelierRenewConnections', { lua: RENEW_SCRIPT });
    this.renewer = setInterval(() => void this.renew(), options.renewMs ?? 30_000);
    this.renewer.unref();
  }

  private get commands(): { atelierAcquireConnection: AcquireCommand; atelierRenewConnections: RenewCommand } {
    return this.redis.client as unknown as { atelierAcquireConnection: AcquireCommand; atelierRenewConnections: RenewCommand };
  }

  async acquire(key: string): Promise<ConnectionLease | null> {
    const id = randomUUID();
    const redisKey = `${this.prefix}ws:${key}`;
    try {
      if ((await this.commands.atelierAcquireConnection(redisKey, this.maxPerKey, this.leaseMs, id)) !== 1) return null;
    } catch (error) {
      this.warn(error);
    }
    this.held.set(id, redisKey);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.held.delete(id);
        this.redis.client.zrem(redisKey, id).catch((error: unknown) => this.warn(error));
      },
    };
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const entries = [...this.held];
    try {
      await this.commands.atelierRenewConnections(
        entries.length,
        ...entries.map(([, key]) => key),
        this.leaseMs,
        ...entries.map(([id]) => id),
      );
    } catch (error) {
      this.warn(error);
    }
  }

  private warn(error: unknown): void {
    this.redis.warn(error, 'WebSocket connections are');
  }

  /** Forgets this process's connections in Redis (they are closing); at most 2 s. */
  async close(): Promise<void> {
    clearInterval(this.renewer);
    const entries = [...this.held];
    this.held.clear();
    if (entries.length > 0) await settlesWithin(Promise.allSettled(entries.map(([id, key]) => this.redis.client.zrem(key, id))), 2_000);
  }
}
