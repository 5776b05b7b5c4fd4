// A short-lived, bounded memory of API keys that authenticated, so a busy retailer back end
// does not pay a database round trip per request. Revocation evicts the key at once in every
// API process (it is broadcast over pub/sub); the TTL bounds how long a missed broadcast can
// keep a revoked key usable.
import type { Viewer } from './viewer';

export type ApiKeyViewer = Extract<Viewer, { kind: 'apiKey' }>;

export interface ApiKeyCacheOptions {
  /** How long a looked-up key is trusted without asking the database again; default 5000 ms. 0 disables the cache. */
  ttlMs?: number;
  /** Most keys remembered; the oldest is forgotten first. Default 10000. */
  maxEntries?: number;
}

export class ApiKeyCache {
  private readonly entries = new Map<string, { viewer: ApiKeyViewer; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: ApiKeyCacheOptions = {}, private readonly now: () => number = Date.now) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** `secretHash` is the sha256 of the key's secret, never the secret itself. */
  get(secretHash: string): ApiKeyViewer | undefined {
    const entry = this.entries.get(secretHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(secretHash);
      return undefined;
    }
    return entry.viewer;
  }

  set(secretHash: string, viewer: ApiKeyViewer): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(secretHash);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(secretHash, { viewer, expiresAt: this.now() + this.ttlMs });
  }

  forget(secretHash: string): void {
    this.entries.delete(secretHash);
  }

  get size(): number {
    return this.entries.size;
  }
}
