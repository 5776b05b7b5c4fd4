// Rate limits per caller, decided without the database: a tenant API key (atk_…) and a shopper
// session (ats_…) each get their own bucket, keyed on a hash of the token, once the token has
// authenticated in this process. Until then (a key's first request here, or a made-up token)
// it draws from one bucket per remote address and class, of the same size: otherwise every
// invented token would bring a fresh bucket, and with it unlimited authentication attempts
// (each unknown API key costs a database lookup). Anything else (no token, the operator token,
// a malformed one) shares the anonymous bucket of its remote address.
// Tokens can be minted (API keys by a tenant's ADMIN key, shopper sessions by the tenant's
// backend or the demo endpoint), so a token's own bucket alone would let minting multiply the
// limit. Two aggregate buckets bound that: every token of one tenant together (per tenant), and
// every shopper session used from one remote address together (per address). API keys are not
// aggregated per address: they are used server to server, where one address may rightly hold
// several tenants' keys, and only a tenant can mint them, so its tenant bucket bounds them.
// A request takes from all of its buckets or from none (a refused request costs nothing).
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import ipaddr from 'ipaddr.js';
import { BoundedMap } from '../common/bounded-map';
import type { BucketRequest, BucketSpec, TokenBuckets } from './token-buckets';

export type CallerClass = 'apiKey' | 'shopper' | 'anonymous';

export interface RateLimitOptions {
  /** Per tenant API key. perSecond 0: no limit. */
  apiKey: BucketSpec;
  /** Per shopper session token. perSecond 0: no limit. */
  shopper: BucketSpec;
  /** Per remote address, for requests without a tenant token. perSecond 0: no limit. */
  anonymous: BucketSpec;
  /** Every API key and shopper session of one tenant together. perSecond 0: no limit. */
  tenant: BucketSpec;
  /** Every shopper session used from one remote address (an IPv6 address: its /64) together. perSecond 0: no limit. */
  shopperAddress: BucketSpec;
}

export interface Caller {
  class: CallerClass;
  /** The bucket's key: never the token itself. */
  key: string;
  /** The token's tenant, once the token has authenticated in this process; null before and for anonymous callers. */
  tenantId: string | null;
  /** The remote address as buckets count it (addressKeyOf). */
  address: string;
}

/**
 * A remote address as rate limits count it: IPv4 as is (also written IPv4-mapped,
 * ::ffff:a.b.c.d), IPv6 by its /64, which one subscriber usually holds whole (counting each
 * address would give a client 2^64 buckets).
 */
export function addressKeyOf(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  const bare = remoteAddress.replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return remoteAddress;
  const parsed = ipaddr.process(bare);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${parts.join(':')}::/64`;
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
  return {
    class: token.startsWith('atk_') ? 'apiKey' : 'shopper',
    hash: createHash('sha256').update(token).digest('base64url').slice(0, 32),
  };
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface TrustedTokenOptions {
  /** How long a token that authenticated keeps its own bucket without authenticating again; default 1 h. */
  ttlMs: number;
  /**
   * Most tokens remembered; the oldest is forgotten first (it then shares its address's bucket until it authenticates again). Default
   * 100000.
   */
  maxEntries: number;
}

export class RateLimiter {
  /** Hashes of tokens that authenticated in this process, with their tenant. */
  private readonly trusted: BoundedMap<string, string>;
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
    const address = addressKeyOf(remoteAddress);
    const token = tenantTokenOf(authorization);
    if (!token) return { class: 'anonymous', key: `a:${address}`, tenantId: null, address };
    const tenantId = this.trusted.get(token.hash);
    if (tenantId !== undefined) return { class: token.class, key: `t:${token.hash}`, tenantId, address };
    return { class: token.class, key: `u:${token.class}:${address}`, tenantId: null, address };
  }

  /**
   * Call once `authorization` has authenticated as a token of `tenantId`: it gets a bucket of its own from now on, and counts against its
   * tenant's.
   */
  trust(authorization: unknown, tenantId: string): void {
    const token = tenantTokenOf(authorization);
    if (token && this.trusted.get(token.hash) !== tenantId) this.trusted.set(token.hash, tenantId, this.trustTtlMs);
  }

  /** Every bucket a caller's request counts against (those with a limit). */
  bucketsOf(caller: Caller): BucketRequest[] {
    const buckets: BucketRequest[] = [{ key: caller.key, spec: this.options[caller.class] }];
    if (caller.tenantId !== null) buckets.push({ key: `n:${caller.tenantId}`, spec: this.options.tenant });
    if (caller.class === 'shopper') buckets.push({ key: `s:${caller.address}`, spec: this.options.shopperAddress });
    return buckets.filter(({ spec }) => spec.perSecond > 0);
  }

  /** Takes `count` requests' worth from each of the caller's buckets, or, when one is short, from none. */
  async take(caller: Caller, count = 1): Promise<RateDecision> {
    const buckets = this.bucketsOf(caller);
    if (buckets.length === 0) return { allowed: true };
    const result = await this.buckets.takeAll(buckets, count);
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
