// A short-lived, bounded memory of API keys that authenticated, so a busy retailer back end
// does not pay a database round trip per request. Revocation evicts the key at once in every
// API process (it is broadcast over pub/sub); the TTL bounds how long a missed broadcast can
// keep a revoked key usable.
import type { Viewer } from './viewer';
import { BoundedMap } from '../common/bounded-map';

export type ApiKeyViewer = Extract<Viewer, { kind: 'apiKey' }>;

export interface ApiKeyCacheOptions {
  /** How long a looked-up key is trusted without asking the database again; default 5000 ms. 0 disables the cache. */
  ttlMs?: number;
  /** Most keys remembered; the oldest is forgotten first. Default 10000. */
  maxEntries?: number;
}

export class ApiKeyCache {
  private readonly entries: BoundedMap<string, ApiKeyViewer>;
  private readonly ttlMs: number;

  constructor(options: ApiKeyCacheOptions = {}, now: () => number = Date.now) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.entries = new BoundedMap(options.maxEntries ?? 10_000, now);
  }

  /** `secretHash` is the sha256 of the key's secret, never the secret itself. */
  get(secretHash: string): ApiKeyViewer | undefined {
    return this.entries.get(secretHash);
  }

  set(secretHash: string, viewer: ApiKeyViewer): void {
    this.entries.set(secretHash, viewer, this.ttlMs);
  }

  forget(secretHash: string): void {
    this.entries.delete(secretHash);
  }

  get size(): number {
    return this.entries.size;
  }
}
