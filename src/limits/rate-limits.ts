// Rate limits per caller, decided from the bearer token alone (no database): a tenant API
// key (atk_…) and a shopper session (ats_…) each get their own bucket, keyed on a hash of
// the token; anything else (no token, the operator token, a malformed one) shares a bucket
// per remote address. An invalid token that looks like a key is refused later by
// authentication; its bucket only bounds how often.
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { BucketSpec, TokenBuckets } from './token-buckets';

export type CallerClass = 'apiKey' | 'shopper' | 'anonymous';

export interface RateLimitOptions {
  /** Per tenant API key. perSecond 0: no limit. */
  apiKey: BucketSpec;
  /** Per shopper session token. perSecond 0: no limit. */
  shopper: BucketSpec;
  /** Per remote address, for requests without a tenant token. perSecond 0: no limit. */
  anonymous: BucketSpec;
}

export interface Caller {
  class: CallerClass;
  /** The bucket's key: never the token itself. */
  key: string;
}

function tokenOf(authorization: unknown): string | null {
  if (typeof authorization !== 'string') return null;
  const m = /^(?:Bearer\s+)?(\S+)$/i.exec(authorization.trim());
  return m ? m[1]! : null;
}

/** Who a request counts against, from its Authorization value and the peer's address. */
export function callerOf(authorization: unknown, remoteAddress: string | undefined): Caller {
  const token = tokenOf(authorization);
  if (token && (token.startsWith('atk_') || token.startsWith('ats_'))) {
    const hash = createHash('sha256').update(token).digest('base64url').slice(0, 32);
    return { class: token.startsWith('atk_') ? 'apiKey' : 'shopper', key: `t:${hash}` };
  }
  return { class: 'anonymous', key: `a:${remoteAddress ?? 'unknown'}` };
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export class RateLimiter {
  constructor(
    private readonly buckets: TokenBuckets,
    readonly options: RateLimitOptions,
  ) {}

  /** Takes `count` requests' worth from the caller's bucket. */
  async take(caller: Caller, count = 1): Promise<RateDecision> {
    const spec = this.options[caller.class];
    if (spec.perSecond <= 0) return { allowed: true };
    const result = await this.buckets.take(caller.key, spec, count);
    return result.allowed ? { allowed: true } : { allowed: false, retryAfterMs: result.retryAfterMs };
  }

  close(): Promise<void> {
    return this.buckets.close();
  }
}

export function rateLimitMessage(retryAfterMs: number): string {
  return `rate limit exceeded: retry after ${retryAfterMs} ms`;
}

/** The refusal as a GraphQL error (graphql-ws). */
export function rateLimitedError(retryAfterMs: number): GraphQLError {
  return new GraphQLError(rateLimitMessage(retryAfterMs), { extensions: { code: 'RATE_LIMITED', retryAfterMs } });
}

/** Open connections per caller key, in this process (each API process counts its own). */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerKey: number) {}

  /** Counts one more connection for `key`, or returns false when it already has the most. */
  acquire(key: string): boolean {
    const current = this.open.get(key) ?? 0;
    if (current >= this.maxPerKey) return false;
    this.open.set(key, current + 1);
    return true;
  }

  release(key: string): void {
    const current = this.open.get(key) ?? 0;
    if (current <= 1) this.open.delete(key);
    else this.open.set(key, current - 1);
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}
