// No N+1: a page of 100 outfits with their garments and reference caches costs a
// constant number of SQL statements, however many outfits and garments there are.
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createTenant, ok } from '../support/graphql-client';

const PAGE = `query($first: Int) { outfits(first: $first) { totalCount edges { node {
  id name shopper { externalId } garments { id sku category image { url } referenceCache { status model } } } } } }`;

describe.each(databaseKinds())('query count on %s', (kind) => {
  let server: TestServer;
  let key: string;
  beforeAll(async () => {
    server = await startTestServer(kind);
    key = (await createTenant(server.url)).adminKey;
    const garments = [];
    for (const [i, category] of ['TOP', 'BOTTOM', 'SHOES', 'BAG'].entries())
      garments.push(await createGarment(server.url, key, `G${i}`, category));
    // 100 outfits of 4 garments, written directly for speed (the API path is tested elsewhere).
    const tenantId = (await server.db.withSystem((tx) => tx.tenant.findFirstOrThrow())).id;
    const rows = await server.db.withTenant(tenantId, (tx) => tx.garment.findMany());
    await server.db.withTenant(tenantId, async (tx) => {
      for (let i = 0; i < 100; i += 1) {
        const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        await tx.outfit.create({ data: { id, tenantId, name: `o${i}` } });
        await tx.outfitItem.createMany({
          data: rows.map((g, position) => ({ outfitId: id, garmentId: g.id, tenantId, category: g.category, position })),
        });
      }
    });
  });
  afterAll(() => server.stop());

  async function statementsFor(first: number): Promise<number> {
    const before = server.db.statementCount;
    const data = await ok(server.url, key, PAGE, { first });
    expect(data.outfits.edges).toHaveLength(first);
    expect(data.outfits.edges[0]!.node.garments).toHaveLength(4);
    return server.db.statementCount - before;
  }

  test('100 outfits with garments and caches cost as many statements as 2', async () => {
    const small = await statementsFor(2);
    const large = await statementsFor(100);
    expect(small).toBeGreaterThanOrEqual(6);
    expect(large).toBe(small);
    // auth + page + count + items + garments + caches, each in its tenant transaction
    expect(large).toBeLessThanOrEqual(20);
  });

  test('a garments page with its reference caches is one transaction once the API key is known', async () => {
    const GARMENTS = `{ garments(first: 50) { edges { node { id sku image { url } referenceCache { status bytes } } } } }`;
    await ok(server.url, key, GARMENTS); // the key is now in the authentication cache
    const before = server.db.statementCount;
    const data = await ok(server.url, key, GARMENTS);
    expect(data.garments.edges.map((e) => e.node.referenceCache.status)).toEqual(['PENDING', 'PENDING', 'PENDING', 'PENDING']);
    // BEGIN, set_config, garments, their caches, COMMIT: no key lookup, no count, no second transaction.
    expect(server.db.statementCount - before).toBeLessThanOrEqual(5);
    const counted = server.db.statementCount;
    expect((await ok(server.url, key, `{ garments(first: 50) { totalCount } }`)).garments.totalCount).toBe(4);
    expect(server.db.statementCount - counted).toBeLessThanOrEqual(5);
  });
});
