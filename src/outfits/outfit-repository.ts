// The only code that touches outfits and outfit_items.
import type { GarmentCategory, Outfit, OutfitItem } from './outfit-types';
import type { Database } from '../db/database';
import { keysetQuery, toPage, type Page, type PageRequest } from '../common/pagination';

export class OutfitRepository {
  constructor(private readonly db: Database) {}

  create(
    tenantId: string,
    outfit: { id: string; name: string; shopperId: string | null },
    items: { garmentId: string; category: GarmentCategory }[],
  ): Promise<Outfit> {
    return this.db.withTenant(tenantId, async (tx) => {
      const created = await tx.outfit.create({ data: { ...outfit, tenantId } });
      await tx.outfitItem.createMany({
        data: items.map((item, position) => ({ ...item, position, outfitId: outfit.id, tenantId })),
      });
      return created;
    });
  }

  findByIds(tenantId: string, ids: readonly string[], shopperId: string | null): Promise<Outfit[]> {
    return this.db.withTenant(tenantId, (tx) =>
      tx.outfit.findMany({ where: { tenantId, id: { in: [...ids] }, ...(shopperId ? { shopperId } : {}) } }),
    );
  }

  /** Items of several outfits, in outfit order. */
  findItems(tenantId: string, outfitIds: readonly string[]): Promise<OutfitItem[]> {
    return this.db.withTenant(tenantId, (tx) =>
      tx.outfitItem.findMany({ where: { tenantId, outfitId: { in: [...outfitIds] } }, orderBy: { position: 'asc' } }),
    );
  }

  list(tenantId: string, page: PageRequest, shopperId: string | null): Promise<Page<Outfit>> {
    const where = { tenantId, ...(shopperId ? { shopperId } : {}) };
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([tx.outfit.findMany({ ...q, where: { ...where, ...q.where } }), tx.outfit.count({ where })]);
      return toPage(rows, page, total);
    });
  }
}
