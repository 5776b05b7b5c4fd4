import { AnswerCache } from '../../src/graphql/answer-cache';
import { CatalogVersions } from '../../src/garments/catalog-versions';
import { InProcessPubSub } from '../../src/jobs/in-process-pubsub';
import { createLogger } from '../../src/observability/logger';
import type { Viewer } from '../../src/auth/viewer';

const tenantId = '00000000-0000-4000-8000-000000000001';
const key: Viewer = { kind: 'apiKey', tenantId, apiKeyId: 'k1', scopes: ['CATALOG_READ'] };
const otherKey: Viewer = { kind: 'apiKey', tenantId, apiKeyId: 'k2', scopes: ['ADMIN'] };
const shopper: Viewer = { kind: 'shopper', tenantId, shopperId: 's1', expiresAt: new Date(Date.now() + 60_000) };
const body = { query: '{ garments { totalCount } }', variables: { a: 1 } };

describe('AnswerCache', () => {
  const versions = new CatalogVersions(new InProcessPubSub(), createLogger('silent'));

  test('one key per tenant, kind of viewer, query, variables and catalog version', () => {
    const cache = new AnswerCache(versions);
    const k = cache.keyFor(key, body, undefined)!;
    expect(cache.keyFor(otherKey, body, '*/*')).toBe(k); // API keys of a tenant share answers
    expect(cache.keyFor(shopper, body, undefined)).not.toBe(k); // shoppers see no archived garments
    expect(cache.keyFor(key, { ...body, variables: { a: 2 } }, undefined)).not.toBe(k);
    expect(cache.keyFor(key, { ...body, operationName: 'X' }, undefined)).not.toBe(k);
    expect(cache.keyFor({ ...key, tenantId: '00000000-0000-4000-8000-000000000002' }, body, undefined)).not.toBe(k);
    versions.changed(tenantId);
    expect(cache.keyFor(key, body, undefined)).not.toBe(k);
  });

  test('nothing is shared for anonymous or operator callers, batches, bodies without a query, or other media types', () => {
    const cache = new AnswerCache(versions);
    expect(cache.keyFor({ kind: 'anonymous' }, body, undefined)).toBeNull();
    expect(cache.keyFor({ kind: 'operator' }, body, undefined)).toBeNull();
    expect(cache.keyFor(key, [body], undefined)).toBeNull();
    expect(cache.keyFor(key, { variables: {} }, undefined)).toBeNull();
    expect(cache.keyFor(key, body, 'application/graphql-response+json')).toBeNull();
  });

  test('an answer lives for its max age; the oldest goes first when full', () => {
    let now = 0;
    const cache = new AnswerCache(versions, { maxEntries: 2 }, () => now);
    cache.set('a', 'A', 5);
    cache.set('b', 'B', 5);
    now = 4_999;
    expect(cache.get('a')?.toString()).toBe('A');
    cache.set('c', 'C', 5);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')?.toString()).toBe('C');
    now = 20_000;
    expect(cache.get('c')).toBeUndefined();
    cache.set('d', 'D', 0);
    expect(cache.get('d')).toBeUndefined();
  });
});
