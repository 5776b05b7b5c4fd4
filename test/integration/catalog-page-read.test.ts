// The catalog page's raw read (GarmentRepository.list over Database.readAsTenant, one
// simple-protocol message without Prisma) returns what the Prisma query it replaced returned,
// page by page, on PGlite and PostgreSQL; row-level security still confines it to the tenant,
// it cannot write, and nothing of the tenant setting outlives it.
import { randomUUID } from 'node:crypto';
import { openDatabase, type Database } from '../../src/db/database';
import { inlineSql } from '../../src/db/inline-sql';
import { GarmentRepository } from '../../src/garments/garment-repository';
import type { Garment, GarmentCategory, ReferenceCache } from '../../src/generated/prisma/client';
import type { PageRequest } from '../../src/common/pagination';
import { createTestDatabase, databaseKinds } from '../support/server';

const MODEL = 'tryon-tiny@1';
const OTHER_MODEL = "o'ther\\model@2";
const CATEGORIES: GarmentCategory[] = ['TOP', 'BOTTOM', 'TOP', 'SHOES', 'TOP', 'BAG', 'TOP', 'BOTTOM', 'TOP'];

describe.each(databaseKinds())('catalog page read on %s', (kind) => {
  let db: Database;
  let drop: (() => Promise<void>) | undefined;
  let repository: GarmentRepository;
  const tenantA = randomUUID();
  const tenantB = randomUUID();

  beforeAll(async () => {
    if (kind === 'postgres') {
      const created = await createTestDatabase();
      drop = created.drop;
      db = await openDatabase({ kind: 'postgres', url: created.url });
    } else {
      db = await openDatabase({ kind: 'embedded', dataDir: null });
    }
    repository = new GarmentRepository(db);
    await db.withSystem(async (tx) => {
      await tx.tenant.create({ data: { id: tenantA, name: 'A' } });
      await tx.tenant.create({ data: { id: tenantB, name: 'B' } });
    });
    // Tenant A: 9 garments; three share one instant (the id breaks the tie), one is archived,
    // some have a cache row for MODEL, one only for another model, one for both.
    const base = Date.UTC(2026, 0, 1);
    const instants = [0, 1000, 1000, 1000, 2000, 3000, 4000, 5000, 6000];
    await db.withTenant(tenantA, async (tx) => {
      for (const [i, category] of CATEGORIES.entries()) {
        const id = randomUUID();
        await tx.garment.create({
          data: {
            id,
            tenantId: tenantA,
            sku: `A-${i}`,
            name: `garment ${i}`,
            category,
            imageKey: `garments/${tenantA}/${id}`,
            imageWidth: 96 + i,
            imageHeight: 128,
            imageContentType: 'image/png',
            imageBytes: 1000 + i,
            archived: i === 4,
            createdAt: new Date(base + instants[i]!),
          },
        });
        if (i % 3 !== 2) {
          await tx.referenceCache.create({
            data: {
              id: randomUUID(),
              tenantId: tenantA,
              garmentId: id,
              model: MODEL,
              ...(i % 3 === 0
                ? { status: 'READY', blobKey: `caches/${id}`, bytes: 4096 + i, checksum: 'abc', computeMs: 1234.5678901234567 + i / 3 }
                : { status: 'FAILED', error: "it's broken \\ badly" }),
            },
          });
        }
        if (i % 4 === 2)
          await tx.referenceCache.create({ data: { id: randomUUID(), tenantId: tenantA, garmentId: id, model: OTHER_MODEL } });
      }
    });
    await db.withTenant(tenantB, (tx) =>
      tx.garment.create({
        data: {
          id: randomUUID(),
          tenantId: tenantB,
          sku: 'B-0',
          name: 'b',
          category: 'TOP',
          imageKey: 'garments/b',
          imageWidth: 1,
          imageHeight: 1,
          imageContentType: 'image/png',
          createdAt: new Date(base + 10_000),
        },
      }),
    );
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  /** What the Prisma read before the raw one returned: the same page, its caches for `model`, the count. */
  async function prismaPage(
    tenantId: string,
    page: PageRequest,
    filter: { category?: GarmentCategory; includeArchived: boolean },
    model: string,
  ) {
    const where = {
      tenantId,
      ...(filter.category ? { category: filter.category } : {}),
      ...(filter.includeArchived ? {} : { archived: false }),
    };
    return db.withTenant(tenantId, async (tx) => {
      const after = page.after
        ? { OR: [{ createdAt: { lt: page.after.createdAt } }, { createdAt: page.after.createdAt, id: { lt: page.after.id } }] }
        : {};
      const rows = await tx.garment.findMany({
        where: { ...where, ...after },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.first + 1,
        include: { caches: { where: { model } } },
      });
      const caches: ReferenceCache[] = rows.flatMap((row) => row.caches);
      const garments: Garment[] = rows.map(({ caches: _caches, ...garment }) => garment);
      // The caches of every row read, the one beyond the page included (as before).
      return {
        items: garments.slice(0, page.first),
        hasNextPage: garments.length > page.first,
        totalCount: await tx.garment.count({ where }),
        caches,
      };
    });
  }

  const filters: { category?: GarmentCategory; includeArchived: boolean }[] = [
    { includeArchived: true },
    { includeArchived: false },
    { category: 'TOP', includeArchived: true },
    { category: 'TOP', includeArchived: false },
    { category: 'DRESS' as GarmentCategory, includeArchived: true },
  ];

  test.each(filters.flatMap((filter) => [1, 2, 4, 100].map((first) => [filter, first] as const)))(
    'paging through %j, %i at a time, gives the rows, caches and counts of the Prisma read',
    async (filter, first) => {
      let after: PageRequest['after'] = null;
      const seen: string[] = [];
      for (let pages = 0; pages < 20; pages += 1) {
        const request: PageRequest = { first, after };
        const [raw, expected] = await Promise.all([
          repository.list(tenantA, request, filter, { count: true, cachesForModel: MODEL }),
          prismaPage(tenantA, request, filter, MODEL),
        ]);
        expect(raw.page.items).toEqual(expected.items);
        expect(raw.page.hasNextPage).toBe(expected.hasNextPage);
        expect(raw.page.totalCount).toBe(expected.totalCount);
        expect(raw.caches).toEqual(expected.caches);
        // Dates come back as Dates, numbers as numbers (what resolvers and cursors expect).
        for (const g of raw.page.items) expect(g.createdAt).toBeInstanceOf(Date);
        seen.push(...raw.page.items.map((g) => g.id));
        const last = raw.page.items[raw.page.items.length - 1];
        if (!raw.page.hasNextPage || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toHaveLength((await prismaPage(tenantA, { first: 100, after: null }, filter, MODEL)).items.length);
    },
  );

  test('without caches or count: garments only, totalCount 0; first 0 gives an empty page that knows there is more', async () => {
    const plain = await repository.list(tenantA, { first: 3, after: null }, { includeArchived: true }, { count: false });
    expect(plain.caches).toEqual([]);
    expect(plain.page.totalCount).toBe(0);
    expect(plain.page.items).toEqual((await prismaPage(tenantA, { first: 3, after: null }, { includeArchived: true }, MODEL)).items);
    const none = await repository.list(
      tenantA,
      { first: 0, after: null },
      { includeArchived: true },
      { count: true, cachesForModel: MODEL },
    );
    expect(none.page).toEqual({ items: [], hasNextPage: true, totalCount: CATEGORIES.length });
  });

  test('a cache row of another model is not joined, and a model name with quotes and backslashes is matched exactly', async () => {
    const other = await repository.list(
      tenantA,
      { first: 100, after: null },
      { includeArchived: true },
      { count: false, cachesForModel: OTHER_MODEL },
    );
    expect(other.caches.length).toBeGreaterThan(0);
    expect(other.caches.every((c) => c.model === OTHER_MODEL)).toBe(true);
    const unknown = await repository.list(
      tenantA,
      { first: 100, after: null },
      { includeArchived: true },
      { count: false, cachesForModel: "x' OR '1'='1" },
    );
    expect(unknown.caches).toEqual([]);
    expect(unknown.page.items).toHaveLength(CATEGORIES.length);
  });

  test('each tenant reads only its own rows, and row-level security holds even when the statement does not filter by tenant', async () => {
    const b = await repository.list(
      tenantB,
      { first: 100, after: null },
      { includeArchived: true },
      { count: true, cachesForModel: MODEL },
    );
    expect(b.page.items.map((g) => g.sku)).toEqual(['B-0']);
    expect(b.page.totalCount).toBe(1);
    // Tenant A's page asked for under B's id: nothing.
    const [rows = []] = await db.readAsTenant(tenantB, [inlineSql`SELECT sku FROM garments WHERE tenant_id = ${tenantA}::uuid`]);
    expect(rows).toEqual([]);
    const [all = [], caches = []] = await db.readAsTenant(tenantB, [
      inlineSql`SELECT sku FROM garments`,
      inlineSql`SELECT id FROM reference_caches`,
    ]);
    expect(all.map((r) => r['sku'])).toEqual(['B-0']);
    expect(caches).toEqual([]);
    // Unknown tenant: nothing at all.
    const [nobody = []] = await db.readAsTenant(randomUUID(), [inlineSql`SELECT sku FROM garments`]);
    expect(nobody).toEqual([]);
  });

  test('it cannot write, refuses a tenant id that is not a uuid, and leaves no tenant set on the connection', async () => {
    await expect(db.readAsTenant(tenantA, [inlineSql`DELETE FROM garments`])).rejects.toThrow(/read-only/);
    await expect(db.readAsTenant(tenantA, [inlineSql`SELECT 1/0`])).rejects.toThrow(/division by zero/);
    await expect(db.readAsTenant(`${tenantA}'; DROP TABLE garments; --`, [inlineSql`SELECT 1`])).rejects.toThrow(/uuid/);
    expect(await db.withTenant(tenantA, (tx) => tx.garment.count())).toBe(CATEGORIES.length);
    // Every pooled connection (PostgreSQL: up to 10) is back without a tenant or a transaction.
    const settings = await Promise.all(
      Array.from({ length: 12 }, () =>
        db.withoutTenant(
          (tx) => tx.$queryRaw<{ tenant: string | null; garments: number }[]>`
        SELECT NULLIF(current_setting('app.tenant_id', true), '') AS tenant, (SELECT count(*)::int FROM garments) AS garments`,
        ),
      ),
    );
    for (const [row] of settings) expect(row).toEqual({ tenant: null, garments: 0 });
  });
});
