// The only code that touches garments and reference_caches.
import type { Garment, GarmentCategory, ReferenceCache } from '../generated/prisma/client';
import type { Database, Tx } from '../db/database';
import { keysetQuery, toPage, type Page, type PageRequest } from '../common/pagination';
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
   * A page of garments, newest first, in one transaction: with `cachesForModel`, each garment's
   * cache row for that model comes along; `count` false leaves totalCount at 0 (not asked for).
   */
  list(
    tenantId: string,
    page: PageRequest,
    filter: { category?: GarmentCategory; includeArchived: boolean },
    options: { count: boolean; cachesForModel?: string } = { count: true },
  ): Promise<{ page: Page<Garment>; caches: ReferenceCache[] }> {
    const where = {
      tenantId,
      ...(filter.category ? { category: filter.category } : {}),
      ...(filter.includeArchived ? {} : { archived: false }),
    };
    const model = options.cachesForModel;
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([
        model === undefined
          ? tx.garment.findMany({ ...q, where: { ...where, ...q.where } })
          : tx.garment.findMany({ ...q, where: { ...where, ...q.where }, include: { caches: { where: { model } } } }),
        options.count ? tx.garment.count({ where }) : Promise.resolve(0),
      ]);
      const caches: ReferenceCache[] = [];
      const garments = rows.map((row) => {
        if ('caches' in row) {
          const { caches: own, ...garment } = row as Garment & { caches: ReferenceCache[] };
          caches.push(...own);
          return garment;
        }
        return row;
      });
      return { page: toPage(garments, page, total), caches };
    });
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
