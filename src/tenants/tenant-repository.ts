// The only code that touches tenants and api_keys.
import type { ApiKey, ApiScope, Tenant } from './tenant-types';
import type { Database } from '../db/database';
import { keysetQuery, toPage, type Page, type PageRequest } from '../common/pagination';

export class TenantRepository {
  constructor(private readonly db: Database) {}

  /** Creates a tenant and its first API key in one transaction. */
  createWithKey(
    tenant: { id: string; name: string; maxConcurrentRenders?: number; resultRetentionHours?: number },
    key: { id: string; name: string; secretHash: string; prefix: string; scopes: ApiScope[] },
  ): Promise<Tenant> {
    return this.db.withTenant(tenant.id, async (tx) => {
      const created = await tx.tenant.create({ data: tenant });
      await tx.apiKey.create({ data: { ...key, tenantId: tenant.id } });
      return created;
    });
  }

  find(tenantId: string): Promise<Tenant | null> {
    return this.db.withTenant(tenantId, (tx) => tx.tenant.findUnique({ where: { id: tenantId } }));
  }

  createApiKey(
    tenantId: string,
    key: { id: string; name: string; secretHash: string; prefix: string; scopes: ApiScope[] },
  ): Promise<ApiKey> {
    return this.db.withTenant(tenantId, (tx) => tx.apiKey.create({ data: { ...key, tenantId } }));
  }

  /** An active (not revoked) key by the hash of its secret. */
  /** Active keys of a tenant with this visible prefix (the caller compares the secret's hash in constant time). */
  findActiveKeysByPrefix(tenantId: string, prefix: string): Promise<ApiKey[]> {
    return this.db.withTenant(tenantId, (tx) => tx.apiKey.findMany({ where: { tenantId, prefix, revokedAt: null }, take: 10 }));
  }

  touchKey(tenantId: string, id: string, at: Date): Promise<unknown> {
    return this.db.withTenant(tenantId, (tx) => tx.apiKey.updateMany({ where: { id, tenantId }, data: { lastUsedAt: at } }));
  }

  findApiKeys(tenantId: string, ids: readonly string[]): Promise<ApiKey[]> {
    return this.db.withTenant(tenantId, (tx) => tx.apiKey.findMany({ where: { tenantId, id: { in: [...ids] } } }));
  }

  /** Revokes a key; returns null when it does not exist (in this tenant). */
  revokeApiKey(tenantId: string, id: string, at: Date): Promise<ApiKey | null> {
    return this.db.withTenant(tenantId, async (tx) => {
      const key = await tx.apiKey.findFirst({ where: { id, tenantId } });
      if (!key) return null;
      if (key.revokedAt) return key;
      return tx.apiKey.update({ where: { id }, data: { revokedAt: at } });
    });
  }

  listApiKeys(tenantId: string, page: PageRequest): Promise<Page<ApiKey>> {
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([
        tx.apiKey.findMany({ ...q, where: { tenantId, ...q.where } }),
        tx.apiKey.count({ where: { tenantId } }),
      ]);
      return toPage(rows, page, total);
    });
  }
}
