// The engine's hot cache: bounded in bytes (least recently used out first), one version per key.
import { HotCache, retainedBytes } from '../../src/inference/hot-cache';

describe('HotCache', () => {
  test('keeps entries within the byte budget, evicting the least recently used first', () => {
    const cache = new HotCache<string>(300);
    cache.set('a', 'v1', 'A', 100);
    cache.set('b', 'v1', 'B', 100);
    cache.set('c', 'v1', 'C', 100);
    expect(cache.get('a', 'v1')).toBe('A'); // a is now the most recent; b the least
    cache.set('d', 'v1', 'D', 100);
    expect(cache.has('b')).toBe(false);
    expect(['a', 'c', 'd'].every((k) => cache.has(k))).toBe(true);
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 300, maxBytes: 300, evictions: 1 });
    cache.set('big', 'v1', 'X', 250); // needs two of the three to go
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 250, evictions: 4 });
  });

  test('a value larger than the whole budget is not kept, and a budget of 0 keeps nothing', () => {
    const cache = new HotCache<string>(100);
    cache.set('a', 'v1', 'A', 50);
    cache.set('huge', 'v1', 'H', 101);
    expect(cache.has('huge')).toBe(false);
    expect(cache.get('a', 'v1')).toBe('A');
    const none = new HotCache<string>(0);
    none.set('a', 'v1', 'A', 1);
    expect(none.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  test('another version misses; storing it replaces the old one (a replaced cache is never served)', () => {
    const cache = new HotCache<string>(1000);
    cache.set('g', 'sha-1', 'old', 100);
    expect(cache.get('g', 'sha-2')).toBeUndefined();
    cache.set('g', 'sha-2', 'new', 120);
    expect(cache.get('g', 'sha-1')).toBeUndefined();
    expect(cache.get('g', 'sha-2')).toBe('new');
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 120, hits: 1, misses: 2, invalidations: 1 });
  });

  test('delete drops a key whatever its version', () => {
    const cache = new HotCache<string>(1000);
    cache.set('g', 'v', 'G', 10);
    expect(cache.delete('g')).toBe(true);
    expect(cache.delete('g')).toBe(false);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, invalidations: 1 });
  });

  test('refuses a negative or fractional budget or size', () => {
    expect(() => new HotCache(-1)).toThrow(RangeError);
    expect(() => new HotCache(1.5)).toThrow(RangeError);
    expect(() => new HotCache(10).set('a', 'v', 'A', -1)).toThrow(RangeError);
  });
});

test('values made of views count the whole buffers they keep alive, each buffer once', () => {
  const blob = new ArrayBuffer(1000);
  const k = new Uint16Array(blob, 100, 200);
  const v = new Uint16Array(blob, 500, 200);
  expect(retainedBytes([k, v])).toBe(1000); // not the 800 bytes the views cover: the header stays alive too
  expect(retainedBytes([k, v, new Float32Array(10), null])).toBe(1040);
});
