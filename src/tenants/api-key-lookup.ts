// What authentication needs of the tenants domain: a tenant's active API keys by prefix, and a
// note that one was used. The tenant repository provides it; auth/ sees only this.
import type { ApiKey } from './tenant-types';

export interface ApiKeyLookup {
  /** The tenant's unrevoked keys with this prefix (a few at most). */
  findActiveKeysByPrefix(tenantId: string, prefix: string): Promise<ApiKey[]>;
  /** Records when the key was last used (best effort). */
  touchKey(tenantId: string, id: string, at: Date): Promise<unknown>;
}
