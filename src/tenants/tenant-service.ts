// Tenants and their API keys: creation by the platform operator, key management by ADMIN keys.
import { randomUUID } from 'node:crypto';
import type { ApiKey, ApiScope, Tenant } from './tenant-types';
import { AuthError, requireScope, requireTenant, type Viewer } from '../auth/viewer';
import { generateApiKey } from '../auth/tokens';
import { ok, refuse, type Outcome } from '../common/user-errors';
import { checkText } from '../common/text';
import type { Page, PageRequest } from '../common/pagination';
import type { TenantRepository } from './tenant-repository';
import { tenantError } from './tenant-errors';

export interface CreateTenantInput {
  name: string;
  maxConcurrentRenders?: number | null;
  resultRetentionHours?: number | null;
}

const ALL_SCOPES: readonly ApiScope[] = ['CATALOG_READ', 'CATALOG_WRITE', 'RENDERS_READ', 'RENDERS_WRITE', 'ADMIN'];

function checkName(name: string, field: string[]) {
  const checked = checkText(name, field, 'name', 200);
  return checked.error ? { error: checked.error } : { name: checked.value };
}

export type ApiKeyRevokedListener = (key: ApiKey) => void;

export class TenantService {
  private readonly revokedListeners: ApiKeyRevokedListener[] = [];

  constructor(private readonly tenants: TenantRepository) {}

  /** Called after a key is revoked (authentication caches forget it). */
  onApiKeyRevoked(listener: ApiKeyRevokedListener): void {
    this.revokedListeners.push(listener);
  }

  async createTenant(viewer: Viewer, input: CreateTenantInput): Promise<Outcome<{ tenant: Tenant; apiKey: string }>> {
    if (viewer.kind !== 'operator') {
      throw new AuthError(
        viewer.kind === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN',
        'createTenant needs the platform operator token (ATELIER_ADMIN_TOKEN)',
      );
    }
    const errors = [];
    const name = checkName(input.name, ['input', 'name']);
    if (name.error) errors.push(name.error);
    const maxConcurrentRenders = input.maxConcurrentRenders ?? 4;
    if (!Number.isInteger(maxConcurrentRenders) || maxConcurrentRenders < 1 || maxConcurrentRenders > 1000) {
      errors.push(tenantError('OUT_OF_RANGE', 'maxConcurrentRenders must be between 1 and 1000', ['input', 'maxConcurrentRenders']));
    }
    const resultRetentionHours = input.resultRetentionHours ?? 72;
    if (!Number.isInteger(resultRetentionHours) || resultRetentionHours < 1 || resultRetentionHours > 24 * 365) {
      errors.push(tenantError('OUT_OF_RANGE', 'resultRetentionHours must be between 1 and 8760', ['input', 'resultRetentionHours']));
    }
    if (errors.length > 0 || !name.name) return refuse(...errors);
    const id = randomUUID();
    const key = generateApiKey(id);
    const tenant = await this.tenants.createWithKey(
      { id, name: name.name, maxConcurrentRenders, resultRetentionHours },
      { id: randomUUID(), name: 'initial admin key', secretHash: key.secretHash, prefix: key.prefix, scopes: ['ADMIN'] },
    );
    return ok({ tenant, apiKey: key.secret });
  }

  async currentTenant(viewer: Viewer): Promise<Tenant> {
    const { tenantId } = requireTenant(viewer);
    const tenant = await this.tenants.find(tenantId);
    if (!tenant) throw new AuthError('UNAUTHENTICATED', 'the tenant of this token no longer exists');
    return tenant;
  }

  async createApiKey(viewer: Viewer, input: { name: string; scopes: ApiScope[] }): Promise<Outcome<{ apiKey: ApiKey; secret: string }>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    const errors = [];
    const name = checkName(input.name, ['input', 'name']);
    if (name.error) errors.push(name.error);
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) errors.push(tenantError('SCOPES_REQUIRED', 'give the key at least one scope', ['input', 'scopes']));
    if (scopes.some((s) => !ALL_SCOPES.includes(s))) errors.push(tenantError('INVALID_SCOPE', 'unknown scope', ['input', 'scopes']));
    if (errors.length > 0 || !name.name) return refuse(...errors);
    const key = generateApiKey(tenantId);
    const apiKey = await this.tenants.createApiKey(tenantId, {
      id: randomUUID(),
      name: name.name,
      secretHash: key.secretHash,
      prefix: key.prefix,
      scopes,
    });
    return ok({ apiKey, secret: key.secret });
  }

  async revokeApiKey(viewer: Viewer, apiKeyId: string | null): Promise<Outcome<ApiKey>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    const key = apiKeyId ? await this.tenants.revokeApiKey(tenantId, apiKeyId, new Date()) : null;
    if (!key) return refuse(tenantError('NOT_FOUND', 'no API key with this id', ['id']));
    for (const listener of this.revokedListeners) listener(key);
    return ok(key);
  }

  listApiKeys(viewer: Viewer, page: PageRequest): Promise<Page<ApiKey>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    return this.tenants.listApiKeys(tenantId, page);
  }

  async findApiKey(viewer: Viewer, id: string): Promise<ApiKey | null> {
    const tenantViewer = requireTenant(viewer);
    if (tenantViewer.kind !== 'apiKey' || !tenantViewer.scopes.includes('ADMIN')) return null;
    const [key] = await this.tenants.findApiKeys(tenantViewer.tenantId, [id]);
    return key ?? null;
  }
}
