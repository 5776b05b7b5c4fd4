import { ApiKeyCache, type ApiKeyViewer } from '../../src/auth/api-key-cache';

const viewer = (n: number): ApiKeyViewer => ({ kind: 'apiKey', tenantId: `t${n}`, apiKeyId: `k${n}`, scopes: ['CATALOG_READ'] });

describe('ApiKeyCache', () => {
  test('a key is trusted until its TTL runs out, then asked for again', () => {
    let now = 1_000;
    const cache = new ApiKeyCache({ ttlMs: 5_000 }, () => now);
    cache.set('h1', viewer(1));
    now += 4_999;
    expect(cache.get('h1')).toEqual(viewer(1));
    now += 1;
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('forget evicts at once (revocation)', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000 });
    cache.set('h1', viewer(1));
    cache.forget('h1');
    expect(cache.get('h1')).toBeUndefined();
  });

  test('bounded: the oldest key is forgotten first', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000, maxEntries: 2 });
    cache.set('h1', viewer(1));
    cache.set('h2', viewer(2));
    cache.set('h3', viewer(3));
    expect(cache.size).toBe(2);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h3')).toEqual(viewer(3));
  });

  test('ttlMs 0 disables it', () => {
    const cache = new ApiKeyCache({ ttlMs: 0 });
    cache.set('h1', viewer(1));
    expect(cache.get('h1')).toBeUndefined();
  });
});
