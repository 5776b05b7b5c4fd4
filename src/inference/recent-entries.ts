// At most `maxEntries` values by key, the oldest stored out first; reading does not refresh an
// entry. The engine's own copy of the platform's BoundedMap (without expiry): inference/ imports
// nothing of the platform.
export class RecentEntries<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }
}
