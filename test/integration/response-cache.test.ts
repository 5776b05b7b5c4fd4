// The catalog page is answered from a per-viewer response cache, and never after a change:
// any garment or reference cache write moves the tenant's catalog version.
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createShopperSession, createTenant, ok, OPERATOR } from '../support/graphql-client';
import { GarmentRepository } from '../../src/garments/garment-repository';
import { fromGlobalId } from '../../src/common/ids';
import type { AnswerData } from '../support/answers';

const PAGE = `{ garments(first: 50) { totalCount edges { node { id sku archived referenceCache { status bytes } } } } }`;

describe.each(databaseKinds())('response cache on %s', (kind) => {
  let server: TestServer;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    server = await startTestServer(kind);
    const tenant = await createTenant(server.url);
    key = tenant.adminKey;
    tenantId = fromGlobalId(tenant.id, 'Tenant')!;
    await createGarment(server.url, key, 'A', 'TOP');
  });
  afterAll(() => server.stop());

  async function page(token = key): Promise<{ data: AnswerData; statements: number }> {
    const before = server.db.statementCount;
    const data = await ok(server.url, token, PAGE);
    return { data, statements: server.db.statementCount - before };
  }

  test('a repeated page costs no SQL; a new garment shows on the next read', async () => {
    await page();
    const again = await page();
    expect(again.statements).toBe(0);
    expect(again.data.garments.totalCount).toBe(1);
    await createGarment(server.url, key, 'B', 'BOTTOM');
    const fresh = await page();
    expect(fresh.statements).toBeGreaterThan(0);
    expect(fresh.data.garments.edges.map((e) => e.node.sku)).toEqual(['B', 'A']);
  });

  test("the worker's cache write (another repository instance) is seen at once", async () => {
    const before = await page();
    const garmentId = fromGlobalId(before.data.garments.edges[0]!.node.id, 'Garment')!;
    expect((await page()).statements).toBe(0);
    const worker = new GarmentRepository(server.db, server.catalogVersions);
    const cache = await worker.ensureCache(
      tenantId,
      garmentId,
      server.services.garments.defaultModel,
      '00000000-0000-4000-8000-00000000c0de',
    );
    await worker.markCacheReady(tenantId, cache.id, { blobKey: 'k', bytes: 1234, checksum: 'c', computeMs: 1 });
    const after = await page();
    expect(after.data.garments.edges[0]!.node.referenceCache).toEqual({ status: 'READY', bytes: 1234 });
  });

  test('reading an existing cache row (as every render does) keeps the stored answer; creating one does not', async () => {
    const before = await page();
    const garmentId = fromGlobalId(before.data.garments.edges[0]!.node.id, 'Garment')!;
    const worker = new GarmentRepository(server.db, server.catalogVersions);
    const version = server.catalogVersions.version(tenantId);
    await worker.ensureCache(tenantId, garmentId, server.services.garments.defaultModel, '00000000-0000-4000-8000-00000000c0df');
    expect(server.catalogVersions.version(tenantId)).toBe(version);
    expect((await page()).statements).toBe(0);
    // A row for another model version is new: the catalog has changed.
    await worker.ensureCache(tenantId, garmentId, 'another-model@2', '00000000-0000-4000-8000-00000000c0e0');
    expect(server.catalogVersions.version(tenantId)).not.toBe(version);
    expect((await page()).statements).toBeGreaterThan(0);
  });

  test('shoppers of a tenant share entries, but never get the API key view with archived garments', async () => {
    const archivedId = (await ok(server.url, key, `{ garments(first: 1) { edges { node { id } } } }`)).garments.edges[0]!.node.id;
    await ok(server.url, key, `mutation($id: ID!) { archiveGarment(id: $id) { userErrors { code } } }`, { id: archivedId });
    const admin = await page();
    expect(admin.data.garments.edges.some((e) => e.node.archived)).toBe(true);
    const { token } = await createShopperSession(server.url, key, 'shopper-1');
    const shopper = await page(token);
    expect(shopper.data.garments.edges.some((e) => e.node.archived)).toBe(false);
    expect(shopper.data.garments.totalCount).toBe(admin.data.garments.totalCount - 1);
    const second = await createShopperSession(server.url, key, 'shopper-2');
    const shared = await page(second.token);
    expect(shared.statements).toBe(0);
    expect(shared.data).toEqual(shopper.data);
  });

  test('a stored answer is byte-identical to the executed one, and is served without executing', async () => {
    const post = () =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: PAGE }),
      });
    await createGarment(server.url, key, 'C', 'SHOES'); // a new catalog version: the next answer is executed
    const executed = await post();
    const hitsBefore = (await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${OPERATOR}` } })).text()).match(
      /atelier_graphql_answer_cache_hits_total (\d+)/,
    )?.[1];
    const stored = await post();
    expect(stored.status).toBe(200);
    expect(stored.headers.get('content-type')).toBe(executed.headers.get('content-type'));
    expect(await stored.text()).toBe(await executed.text());
    const hitsAfter = (await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${OPERATOR}` } })).text()).match(
      /atelier_graphql_answer_cache_hits_total (\d+)/,
    )?.[1];
    expect(Number(hitsAfter)).toBe(Number(hitsBefore) + 1);
  });

  test("another tenant never reads this tenant's cached page", async () => {
    await page();
    const other = await createTenant(server.url, 'Other');
    const theirs = await page(other.adminKey);
    expect(theirs.data.garments.totalCount).toBe(0);
  });
});
