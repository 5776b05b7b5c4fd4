// The only code that touches garments and reference_caches.
import type { Garment, GarmentCategory, ReferenceCache } from './garment-types';
import type { Database, Tx } from '../db/database';
import { inlineSql, joinSql, type InlineSql } from '../db/inline-sql';
import { toPage, type Page, type PageRequest } from '../common/pagination';
import type { CatalogVersions } from './catalog-versions';
import { checkQuotas, type QuotaRefusal, type Quotas } from '../common/quotas';

/** A new row: what the caller decides (the tenant is the method's argument; the rest are defaults). */
export type NewGarment = Omit<Garment, 'tenantId' | 'archived' | 'createdAt'>;

export class GarmentRepository {
  constructor(
    private readonly db: Database,
    /** Told of every committed write, so cached catalog reads are dropped. */
    private readonly catalog?: CatalogVersions,
  ) {}

  /** Runs a write in the tenant's transaction, then announces the change once it has committed. */
  private async write<T>(tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.db.withTenant(tenantId, work);
    this.catalog?.changed(tenantId);
    return result;
  }

  /** Creates the garment and its PENDING reference cache row for `model` together, unless its image exceeds the tenant's storage quota. */
  create(
    tenantId: string,
    garment: NewGarment,
    model: string,
    cacheId: string,
    quotas: Quotas,
  ): Promise<{ kind: 'created'; garment: Garment } | QuotaRefusal> {
    return this.write(tenantId, async (tx) => {
      const refusal = await checkQuotas(tx, tenantId, { bytes: garment.imageBytes, shopperId: null }, quotas);
      if (refusal) return refusal;
      const created = await tx.garment.create({ data: { ...garment, tenantId } });
      await tx.referenceCache.create({ data: { id: cacheId, tenantId, garmentId: garment.id, model } });
      return { kind: 'created' as const, garment: created };
    });
  }

  skuTaken(tenantId: string, sku: string): Promise<boolean> {
    return this.db.withTenant(tenantId, async (tx) => (await tx.garment.count({ where: { tenantId, sku } })) > 0);
  }

  findByIds(tenantId: string, ids: readonly string[]): Promise<Garment[]> {
    return this.db.withTenant(tenantId, (tx) => tx.garment.findMany({ where: { tenantId, id: { in: [...ids] } } }));
  }

  archive(tenantId: string, id: string): Promise<Garment | null> {
    return this.write(tenantId, async (tx) => {
      const { count } = await tx.garment.updateMany({ where: { id, tenantId }, data: { archived: true } });
      return count === 1 ? tx.garment.findUnique({ where: { id } }) : null;
    });
  }

  /**
   * A page of garments, newest first, in one read-only message to the database (the catalog's
   * hot read: no Prisma, one round trip, row-level security as for every tenant read): with
   * `cachesForModel`, each garment's cache row for that model comes along (one join); `count`
   * false leaves totalCount at 0 (not asked for). The page comes back as ONE JSON value (an
   * array per row): the drivers' per-field parsing of ~1,300 fields was the largest cost of
   * this read on PGlite, and one JSON.parse is far cheaper.
   */
  async list(
    tenantId: string,
    page: PageRequest,
    filter: { category?: GarmentCategory; includeArchived: boolean },
    options: { count: boolean; cachesForModel?: string } = { count: true },
  ): Promise<{ page: Page<Garment>; caches: ReferenceCache[] }> {
    const model = options.cachesForModel;
    const conditions: InlineSql[] = [inlineSql`g.tenant_id = ${tenantId}::uuid`];
    if (filter.category !== undefined) conditions.push(inlineSql`g.category = ${filter.category}`);
    if (!filter.includeArchived) conditions.push(inlineSql`NOT g.archived`);
    const where = joinSql(conditions, ' AND ');
    const after = page.after ? inlineSql` AND (g.created_at, g.id) < (${page.after.createdAt}, ${page.after.id}::uuid)` : inlineSql``;
    const columns = model === undefined ? GARMENT_COLUMNS : joinSql([GARMENT_COLUMNS, CACHE_COLUMNS], ', ');
    const join = model === undefined ? inlineSql`` : inlineSql` LEFT JOIN reference_caches c ON c.garment_id = g.id AND c.model = ${model}`;
    const reads = [
      inlineSql`SELECT coalesce(json_agg(p.r ORDER BY p.created_at DESC, p.id DESC), '[]')::text AS page FROM (
        SELECT g.created_at, g.id, json_build_array(${columns}) AS r FROM garments g${join}
        WHERE ${where}${after} ORDER BY g.created_at DESC, g.id DESC LIMIT ${page.first + 1}) p`,
      ...(options.count ? [inlineSql`SELECT count(*)::int AS n FROM garments g WHERE ${where}`] : []),
    ];
    const [[read] = [], counted] = await this.db.readAsTenant(tenantId, reads);
    const rows = JSON.parse(String(read?.['page'] ?? '[]')) as unknown[][];
    const caches: ReferenceCache[] = [];
    const garments = rows.map((row) => {
      const garment = garmentOf(tenantId, row);
      if (model !== undefined && row[GARMENT_FIELDS] !== null) caches.push(cacheOf(tenantId, garment.id, model, row));
      return garment;
    });
    return { page: toPage(garments, page, options.count ? Number(counted?.[0]?.['n'] ?? 0) : 0), caches };
  }

  findCaches(tenantId: string, garmentIds: readonly string[], model: string): Promise<ReferenceCache[]> {
    return this.db.withTenant(tenantId, (tx) =>
      tx.referenceCache.findMany({ where: { tenantId, model, garmentId: { in: [...garmentIds] } } }),
    );
  }

  /**
   * The cache row of a garment for a model, creating it PENDING when missing (a new model
   * version). Every render reads its garments' rows through here: only a row created moves the
   * catalog version, so renders leave the stored catalog answers alone.
   */
  async ensureCache(tenantId: string, garmentId: string, model: string, newId: string): Promise<ReferenceCache> {
    const where = { garmentId_model: { garmentId, model } };
    const { row, created } = await this.db.withTenant(tenantId, async (tx) => {
      const existing = await tx.referenceCache.findUnique({ where });
      if (existing) return { row: existing, created: false };
      // An upsert still: another worker may have created it since the read.
      return {
        row: await tx.referenceCache.upsert({ where, create: { id: newId, tenantId, garmentId, model }, update: {} }),
        created: true,
      };
    });
    if (created) this.catalog?.changed(tenantId);
    return row;
  }

  markCacheReady(
    tenantId: string,
    cacheId: string,
    result: { blobKey: string; bytes: number; checksum: string; computeMs: number },
  ): Promise<ReferenceCache> {
    return this.write(tenantId, (tx) =>
      tx.referenceCache.update({ where: { id: cacheId }, data: { ...result, status: 'READY', error: null, attempts: { increment: 1 } } }),
    );
  }

  markCacheFailed(tenantId: string, cacheId: string, error: string): Promise<ReferenceCache> {
    return this.write(tenantId, (tx) =>
      tx.referenceCache.update({ where: { id: cacheId }, data: { status: 'FAILED', error, attempts: { increment: 1 } } }),
    );
  }

  /** Caches still PENDING, untouched since `updatedBefore`, of every tenant (maintenance: their job may be lost). */
  findStalePending(updatedBefore: Date, limit = 500): Promise<Pick<ReferenceCache, 'tenantId' | 'garmentId' | 'model'>[]> {
    return this.db.withSystem((tx) =>
      tx.referenceCache.findMany({
        where: { status: 'PENDING', updatedAt: { lt: updatedBefore } },
        select: { tenantId: true, garmentId: true, model: true },
        orderBy: { updatedAt: 'asc' },
        take: limit,
      }),
    );
  }

  /** FAILED -> PENDING (retry by mutation); null when there is no failed cache. */
  async resetFailedCache(tenantId: string, garmentId: string, model: string): Promise<ReferenceCache | null> {
    return this.write(tenantId, async (tx) => {
      const { count } = await tx.referenceCache.updateMany({
        where: { tenantId, garmentId, model, status: 'FAILED' },
        data: { status: 'PENDING', error: null },
      });
      return count === 1 ? tx.referenceCache.findFirst({ where: { tenantId, garmentId, model } }) : null;
    });
  }
}

// The columns of the catalog's raw read, in the order garmentOf and cacheOf read them (instants
// as epoch milliseconds, exact for timestamptz(3) and independent of the session's time zone).
// What the read already knows (tenant, garment id of the cache, model) is not sent back.
const GARMENT_COLUMNS = inlineSql`g.id, g.sku, g.name, g.category, g.image_key, g.image_width, g.image_height, g.image_content_type,
  g.image_bytes, g.archived, round(extract(epoch FROM g.created_at) * 1000)::bigint`;
const GARMENT_FIELDS = 11;
const CACHE_COLUMNS = inlineSql`c.id, c.status, c.blob_key, c.bytes, c.checksum, c.compute_ms, c.error, c.attempts,
  round(extract(epoch FROM c.created_at) * 1000)::bigint, round(extract(epoch FROM c.updated_at) * 1000)::bigint`;

/** A garments row as Prisma returns it. */
function garmentOf(tenantId: string, row: unknown[]): Garment {
  return {
    id: row[0] as string,
    tenantId,
    sku: row[1] as string,
    name: row[2] as string,
    category: row[3] as GarmentCategory,
    imageKey: row[4] as string,
    imageWidth: row[5] as number,
    imageHeight: row[6] as number,
    imageContentType: row[7] as string,
    imageBytes: row[8] as number,
    archived: row[9] as boolean,
    createdAt: new Date(row[10] as number),
  };
}

/** The joined reference_caches row (after the garment's fields) as Prisma returns it. */
function cacheOf(tenantId: string, garmentId: string, model: string, row: unknown[]): ReferenceCache {
  const at = GARMENT_FIELDS;
  return {
    id: row[at] as string,
    tenantId,
    garmentId,
    model,
    status: row[at + 1] as ReferenceCache['status'],
    blobKey: row[at + 2] as string | null,
    bytes: row[at + 3] as number | null,
    checksum: row[at + 4] as string | null,
    computeMs: row[at + 5] as number | null,
    error: row[at + 6] as string | null,
    attempts: row[at + 7] as number,
    createdAt: new Date(row[at + 8] as number),
    updatedAt: new Date(row[at + 9] as number),
  };
}
