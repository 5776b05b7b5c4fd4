// Rate limits per caller, decided without the database: a tenant API key (atk_…) and a shopper
// session (ats_…) each get their own bucket, keyed on a hash of the token, once the token has
// authenticated in this process. Until then (a key's first request here, or a made-up token)
// it draws from one bucket per remote address and class, of the same size: otherwise every
// invented token would bring a fresh bucket, and with it unlimited authentication attempts
// (each unknown API key costs a database lookup). Anything else (no token, the operator token,
// a malformed one) shares the anonymous bucket of its remote address.
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { BoundedMap } from '../common/bounded-map';
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

/** A tenant token's class and the hash its bucket is keyed on; null for anything else. */
function tenantTokenOf(authorization: unknown): { class: 'apiKey' | 'shopper'; hash: string } | null {
  const token = tokenOf(authorization);
  if (!token || !(token.startsWith('atk_') || token.startsWith('ats_'))) return null;
  return { class: token.startsWith('atk_') ? 'apiKey' : 'shopper', hash: createHash('sha256').update(token).digest('base64url').slice(0, 32) };
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface TrustedTokenOptions {
  /** How long a token that authenticated keeps its own bucket without authenticating again; default 1 h. */
  ttlMs: number;
  /** Most tokens remembered; the oldest is forgotten first (it then shares its address's bucket until it authenticates again). Default 100000. */
  maxEntries: number;
}

export class RateLimiter {
  /** Hashes of tokens that authenticated in this process. */
  private readonly trusted: BoundedMap<string, true>;
  private readonly trustTtlMs: number;

  constructor(
    private readonly buckets: TokenBuckets,
    readonly options: RateLimitOptions,
    trust: TrustedTokenOptions = { ttlMs: 3_600_000, maxEntries: 100_000 },
  ) {
    this.trusted = new BoundedMap(trust.maxEntries);
    this.trustTtlMs = trust.ttlMs;
  }

  /** Who a request counts against, from its Authorization value and the peer's address. */
  callerOf(authorization: unknown, remoteAddress: string | undefined): Caller {
    const address = remoteAddress ?? 'unknown';
    const token = tenantTokenOf(authorization);
    if (!token) return { class: 'anonymous', key: `a:${address}` };
    if (this.trusted.get(token.hash)) return { class: token.class, key: `t:${token.hash}` };
    return { class: token.class, key: `u:${token.class}:${address}` };
  }

  /** Call once `authorization` has authenticated: its token gets a bucket of its own from now on. */
  trust(authorization: unknown): void {
    const token = tenantTokenOf(authorization);
    if (token && !this.trusted.get(token.hash)) this.trusted.set(token.hash, true, this.trustTtlMs);
  }

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
