// The only code that touches shoppers.
import type { Shopper } from './shopper-types';
import type { Database } from '../db/database';
import { keysetQuery, toPage, type Page, type PageRequest } from '../common/pagination';

export class ShopperRepository {
  constructor(private readonly db: Database) {}

  create(tenantId: string, shopper: { id: string; externalId: string }): Promise<Shopper> {
    return this.db.withTenant(tenantId, (tx) => tx.shopper.create({ data: { ...shopper, tenantId } }));
  }

  findByIds(tenantId: string, ids: readonly string[]): Promise<Shopper[]> {
    return this.db.withTenant(tenantId, (tx) => tx.shopper.findMany({ where: { tenantId, id: { in: [...ids] } } }));
  }

  findByExternalId(tenantId: string, externalId: string): Promise<Shopper | null> {
    return this.db.withTenant(tenantId, (tx) => tx.shopper.findFirst({ where: { tenantId, externalId } }));
  }

  list(tenantId: string, page: PageRequest): Promise<Page<Shopper>> {
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([
        tx.shopper.findMany({ ...q, where: { tenantId, ...q.where } }),
        tx.shopper.count({ where: { tenantId } }),
      ]);
      return toPage(rows, page, total);
    });
  }
}
