// Shoppers (a tenant's end users) and their short-lived session tokens. Managing them, and
// reading Shopper objects (their externalId) anywhere, needs ADMIN; a shopper session sees
// only its own shopper.
import { randomUUID } from 'node:crypto';
import type { Shopper } from './shopper-types';
import { requireScope, requireShopperReader, requireTenant, type Viewer } from '../auth/viewer';
import type { SessionTokens } from '../auth/tokens';
import { isUniqueViolation, ok, refuse, type Outcome } from '../common/user-errors';
import { checkText } from '../common/text';
import type { Page, PageRequest } from '../common/pagination';
import { alignToIds } from '../common/ids';
import type { ShopperRepository } from './shopper-repository';
import { shopperError } from './shopper-errors';

/** How long a shopper session token is valid. */
export const SESSION_TTL_MS = 60 * 60_000;

export class ShopperService {
  constructor(
    private readonly shoppers: ShopperRepository,
    private readonly sessions: SessionTokens,
  ) {}

  async createShopper(viewer: Viewer, input: { externalId: string }): Promise<Outcome<Shopper>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    const checked = checkText(input.externalId, ['input', 'externalId'], 'externalId', 200);
    if (checked.error) return refuse(checked.error);
    const externalId = checked.value;
    try {
      return ok(await this.shoppers.create(tenantId, { id: randomUUID(), externalId }));
    } catch (error) {
      if (isUniqueViolation(error))
        return refuse(shopperError('EXTERNAL_ID_TAKEN', `a shopper with externalId ${externalId} already exists`, ['input', 'externalId']));
      throw error;
    }
  }

  async createSession(viewer: Viewer, shopperId: string | null): Promise<Outcome<{ token: string; expiresAt: Date }>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    const [shopper] = shopperId ? await this.shoppers.findByIds(tenantId, [shopperId]) : [];
    if (!shopper) return refuse(shopperError('NOT_FOUND', 'no shopper with this id', ['shopperId']));
    const expiresAt = new Date(Math.floor((Date.now() + SESSION_TTL_MS) / 1000) * 1000);
    return ok({ token: this.sessions.sign({ tenantId, shopperId: shopper.id, expiresAt }), expiresAt });
  }

  /** The shopper a retailer knows by `externalId` (ADMIN), or null. */
  findByExternalId(viewer: Viewer, externalId: string): Promise<Shopper | null> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    return this.shoppers.findByExternalId(tenantId, externalId.trim());
  }

  listShoppers(viewer: Viewer, page: PageRequest): Promise<Page<Shopper>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    return this.shoppers.list(tenantId, page);
  }

  /**
   * Shoppers by id (node(id:) and every nested Shopper field): ADMIN keys see all of the
   * tenant's, a shopper session only itself; any other key is FORBIDDEN.
   */
  async findShoppers(viewer: Viewer, ids: readonly string[]): Promise<(Shopper | null)[]> {
    const tenantViewer = requireShopperReader(viewer);
    const visible = tenantViewer.kind === 'shopper' ? ids.filter((id) => id === tenantViewer.shopperId) : ids;
    const rows = visible.length > 0 ? await this.shoppers.findByIds(tenantViewer.tenantId, visible) : [];
    return alignToIds(ids, rows);
  }

  /**
   * Whether `shopperId` is a shopper of the viewer's tenant (a shopper session: itself), for
   * a write that names one (a photo or outfit made for it). Reveals only that it exists, so
   * the caller's own scope check suffices.
   */
  async shopperExists(viewer: Viewer, shopperId: string): Promise<boolean> {
    const tenantViewer = requireTenant(viewer);
    if (tenantViewer.kind === 'shopper' && shopperId !== tenantViewer.shopperId) return false;
    return (await this.shoppers.findByIds(tenantViewer.tenantId, [shopperId])).length > 0;
  }
}
