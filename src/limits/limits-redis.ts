// The Redis connection behind the limits (rate-limit buckets, WebSocket connection counts),
// one per process. Its commands fail fast (500 ms): when Redis is slow or down, the limits let
// requests through (fail open) and say so at most every 10 s, rather than hold the API up.
import { Redis } from 'ioredis';
import { settlesWithin } from '../common/deadline';
import type { Logger } from '../observability/logger';

export class LimitsRedis {
  readonly client: Redis;
  private lastWarning = 0;

  constructor(
    url: string,
    private readonly logger: Logger,
  ) {
    this.client = new Redis(url, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
    });
    this.client.on('error', () => undefined);
  }

  /** Logs a failed command at most every 10 s; `unlimited` says what goes unlimited meanwhile. */
  warn(error: unknown, unlimited: string): void {
    if (Date.now() - this.lastWarning <= 10_000) return;
    this.lastWarning = Date.now();
    this.logger.warn({ err: error }, `limits in Redis unavailable: ${unlimited} not limited meanwhile`);
  }

  /** A polite QUIT, or, when Redis does not answer within 2 s, the connection dropped. */
  async close(): Promise<void> {
    if (!(await settlesWithin(this.client.quit(), 2_000))) this.client.disconnect();
  }
}
