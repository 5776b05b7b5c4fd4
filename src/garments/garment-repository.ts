// The only code that touches garments and reference_caches.
import type { Garment, GarmentCategory, ReferenceCache } from '../generated/prisma/client';
import type { Database, Tx } from '../db/database';
import { inlineSql, joinSql, type InlineSql } from '../db/inline-sql';
import { toPage, type Page, type PageRequest } from '../common/pagination';
import type { CatalogVersions } from './catalog-versions';
import { checkQuotas, type QuotaRefusal, type Quotas } from '../tenants/quotas';

export interface NewGarment {
  id: string;
  sku: string;
  name: string;
  category: GarmentCategory;
  imageKey: string;
  imageWidth: number;
  imageHeight: number;
  imageContentType: string;
  imageBytes: number;
}

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
  create(tenantId: string, garment: NewGarment, model: string, cacheId: string, quotas: Quotas): Promise<{ kind: 'created'; garment: Garment } | QuotaRefusal> {
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
   * false leaves totalCount at 0 (not asked for).
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
    const reads = [
      model === undefined
        ? inlineSql`SELECT ${GARMENT_COLUMNS} FROM garments g WHERE ${where}${after} ORDER BY g.created_at DESC, g.id DESC LIMIT ${page.first + 1}`
        : inlineSql`SELECT ${GARMENT_COLUMNS}, ${CACHE_COLUMNS} FROM garments g LEFT JOIN reference_caches c ON c.garment_id = g.id AND c.model = ${model}
            WHERE ${where}${after} ORDER BY g.created_at DESC, g.id DESC LIMIT ${page.first + 1}`,
      ...(options.count ? [inlineSql`SELECT count(*)::int AS n FROM garments g WHERE ${where}`] : []),
    ];
    const [rows = [], counted] = await this.db.readAsTenant(tenantId, reads);
    const caches: ReferenceCache[] = [];
    const garments = rows.map((row) => {
      if (model !== undefined && row['c_id'] !== null) caches.push(cacheOf(row));
      return garmentOf(row);
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
      return { row: await tx.referenceCache.upsert({ where, create: { id: newId, tenantId, garmentId, model }, update: {} }), created: true };
    });
    if (created) this.catalog?.changed(tenantId);
    return row;
  }

  markCacheReady(tenantId: string, cacheId: string, result: { blobKey: string; bytes: number; checksum: string; computeMs: number }): Promise<ReferenceCache> {
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
      const { count } = await tx.referenceCache.updateMany({ where: { tenantId, garmentId, model, status: 'FAILED' }, data: { status: 'PENDING', error: null } });
      return count === 1 ? tx.referenceCache.findFirst({ where: { tenantId, garmentId, model } }) : null;
    });
  }
}

// The columns of the catalog's raw read, named as Prisma names the fields (garment) or with a
// c_ prefix (its cache row, NULL when there is none).
const GARMENT_COLUMNS = inlineSql`g.id, g.tenant_id, g.sku, g.name, g.category::text AS category, g.image_key, g.image_width, g.image_height,
  g.image_content_type, g.image_bytes, g.archived, g.created_at`;
const CACHE_COLUMNS = inlineSql`c.id AS c_id, c.tenant_id AS c_tenant_id, c.garment_id AS c_garment_id, c.model AS c_model,
  c.status::text AS c_status, c.blob_key AS c_blob_key, c.bytes AS c_bytes, c.checksum AS c_checksum, c.compute_ms AS c_compute_ms,
  c.error AS c_error, c.attempts AS c_attempts, c.created_at AS c_created_at, c.updated_at AS c_updated_at`;

type Row = Record<string, unknown>;

/** A garments row as Prisma returns it. */
function garmentOf(row: Row): Garment {
  return {
    id: row['id'] as string,
    tenantId: row['tenant_id'] as string,
    sku: row['sku'] as string,
    name: row['name'] as string,
    category: row['category'] as GarmentCategory,
    imageKey: row['image_key'] as string,
    imageWidth: row['image_width'] as number,
    imageHeight: row['image_height'] as number,
    imageContentType: row['image_content_type'] as string,
    imageBytes: row['image_bytes'] as number,
    archived: row['archived'] as boolean,
    createdAt: row['created_at'] as Date,
  };
}

/** The joined reference_caches row (c_ columns) as Prisma returns it. */
function cacheOf(row: Row): ReferenceCache {
  return {
    id: row['c_id'] as string,
    tenantId: row['c_tenant_id'] as string,
    garmentId: row['c_garment_id'] as string,
    model: row['c_model'] as string,
    status: row['c_status'] as ReferenceCache['status'],
    blobKey: row['c_blob_key'] as string | null,
    bytes: row['c_bytes'] as number | null,
    checksum: row['c_checksum'] as string | null,
    computeMs: row['c_compute_ms'] as number | null,
    error: row['c_error'] as string | null,
    attempts: row['c_attempts'] as number,
    createdAt: row['c_created_at'] as Date,
    updatedAt: row['c_updated_at'] as Date,
  };
}
