/**
 * HotCache: what the inference worker keeps decoded between renders (a garment's reference
 * K/V, a person encoding), bounded in bytes, least recently used out first. Each entry is one
 * thing (`key`, e.g. a garment's cache blob) at one content version (`version`, e.g. the blob's
 * checksum): a lookup of another version misses, and storing a new version drops the old one,
 * so a replaced cache is never served. Values are opaque (typed arrays of whatever dtype the
 * engine computes with); the caller states their size, checked once, when they are stored.
 */

export interface HotCacheStats {
  /** Entries held now, and their bytes (at most the budget). */
  entries: number;
  bytes: number;
  maxBytes: number;
  /** Lookups served from memory since start. */
  hits: number;
  /** Lookups that had to load and decode the blob (each one blob read, one check, one decode). */
  misses: number;
  /** Entries dropped to stay within the budget. */
  evictions: number;
  /** Entries dropped because they were replaced by a new version or invalidated by their owner. */
  invalidations: number;
}

interface Entry<T> {
  version: string;
  value: T;
  bytes: number;
}

export class HotCache<T> {
  /** Map iteration order is insertion order: re-inserting on every hit keeps the least recent first. */
  private readonly entries = new Map<string, Entry<T>>();
  private bytes = 0;
  private readonly counters = { hits: 0, misses: 0, evictions: 0, invalidations: 0 };

  /** `maxBytes` 0 keeps nothing (every render loads and decodes its blobs, as without a cache). */
  constructor(readonly maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }

  /** The value of `key` at `version`, marked most recently used; undefined (a miss) otherwise. */
  get(key: string, version: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.version !== version) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Keeps `value` as `key` at `version`, replacing any other version of `key`, then drops the
   * least recently used entries until the total fits the budget. A value larger than the whole
   * budget is not kept (the render that decoded it still uses it).
   */
  set(key: string, version: string, value: T, bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative integer, got ${bytes}`);
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.remove(key, previous);
      if (previous.version !== version) this.counters.invalidations++;
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { version, value, bytes });
    this.bytes += bytes;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldestKey, oldest);
      this.counters.evictions++;
    }
  }

  /** Drops `key` (any version): its owner is gone (a garment archived, a photo deleted). */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.remove(key, entry);
    this.counters.invalidations++;
    return true;
  }

  has(key: string, version?: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && (version === undefined || entry.version === version);
  }

  stats(): HotCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, maxBytes: this.maxBytes, ...this.counters };
  }

  private remove(key: string, entry: Entry<T>): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

/**
 * The memory that values made of typed-array views keep alive: the whole buffer of each distinct
 * ArrayBuffer they view (a decoded blob's arrays are views of the blob, so holding them holds
 * all of its bytes, envelope and header included), not just the bytes the views cover.
 */
export function retainedBytes(views: readonly (ArrayBufferView | null | undefined)[]): number {
  const buffers = new Set<ArrayBufferLike>();
  for (const view of views) if (view) buffers.add(view.buffer);
  let bytes = 0;
  for (const buffer of buffers) bytes += buffer.byteLength;
  return bytes;
}
