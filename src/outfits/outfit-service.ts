// Outfits: a named set of garments (rules in outfit-rules.ts). Created with RENDERS_WRITE
// for any shopper or none, or by a shopper session for itself; read with RENDERS_READ. A
// shopper sees only its own, and the outfit of a render made for it.
import { randomUUID } from 'node:crypto';
import type { Outfit, OutfitItem } from './outfit-types';
import { requireScope, requireShopperDataReader, shopperScope, type Viewer } from '../auth/viewer';
import { fromGlobalId, alignToIds } from '../common/ids';
import { ok, refuse, type Outcome, type UserError } from '../common/user-errors';
import { checkText } from '../common/text';
import type { Page, PageRequest } from '../common/pagination';
import type { GarmentService } from '../garments/garment-service';
import type { ShopperService } from '../shoppers/shopper-service';
import type { OutfitRepository } from './outfit-repository';
import { checkOutfitCategories, MAX_OUTFIT_GARMENTS } from './outfit-rules';
import { outfitError } from './outfit-errors';

export interface CreateOutfitInput {
  name: string;
  garmentIds: readonly string[];
  /** undefined when not given, null when given but not a valid shopper ID. */
  shopperId: string | null | undefined;
}

export class OutfitService {
  constructor(
    private readonly outfits: OutfitRepository,
    private readonly garments: GarmentService,
    private readonly shoppers: ShopperService,
  ) {}

  async createOutfit(viewer: Viewer, input: CreateOutfitInput): Promise<Outcome<Outfit>> {
    const tenantViewer = requireScope(viewer, 'RENDERS_WRITE', true);
    const errors: UserError[] = [];
    const checked = checkText(input.name, ['input', 'name'], 'name', 200);
    if (checked.error) errors.push(checked.error);
    const name = checked.value ?? '';
    if (input.garmentIds.length > MAX_OUTFIT_GARMENTS) {
      errors.push(outfitError('TOO_MANY_GARMENTS', `an outfit has at most ${MAX_OUTFIT_GARMENTS} garments`, ['input', 'garmentIds']));
      return refuse(...errors);
    }
    const ids = input.garmentIds.map((id) => fromGlobalId(id, 'Garment'));
    const found = await this.garments.findGarments(
      tenantViewer,
      ids.filter((id): id is string => id !== null),
    );
    const byId = new Map(found.filter((g) => g !== null).map((g) => [g!.id, g!]));
    const chosen = [];
    const seen = new Set<string>();
    for (const [index, id] of ids.entries()) {
      const field = ['input', 'garmentIds', String(index)];
      const garment = id ? byId.get(id) : undefined;
      if (!garment) errors.push(outfitError('GARMENT_NOT_FOUND', 'no garment with this id', field));
      else if (garment.archived) errors.push(outfitError('GARMENT_ARCHIVED', `garment ${garment.sku} is archived`, field));
      else if (seen.has(garment.id)) errors.push(outfitError('DUPLICATE_GARMENT', 'the same garment is listed twice', field));
      else {
        seen.add(garment.id);
        chosen.push(garment);
      }
    }
    if (errors.length === 0)
      errors.push(
        ...checkOutfitCategories(
          chosen.map((g) => g.category),
          ['input', 'garmentIds'],
        ),
      );
    let shopperId: string | null = tenantViewer.kind === 'shopper' ? tenantViewer.shopperId : null;
    if (input.shopperId !== undefined) {
      if (input.shopperId && (await this.shoppers.shopperExists(tenantViewer, input.shopperId))) shopperId = input.shopperId;
      else errors.push(outfitError('NOT_FOUND', 'no shopper with this id', ['input', 'shopperId']));
    }
    if (errors.length > 0) return refuse(...errors);
    const outfit = await this.outfits.create(
      tenantViewer.tenantId,
      { id: randomUUID(), name, shopperId },
      chosen.map((g) => ({ garmentId: g.id, category: g.category })),
    );
    return ok(outfit);
  }

  listOutfits(viewer: Viewer, page: PageRequest): Promise<Page<Outfit>> {
    const tenantViewer = requireShopperDataReader(viewer);
    return this.outfits.list(tenantViewer.tenantId, page, shopperScope(tenantViewer));
  }

  async findOutfits(viewer: Viewer, ids: readonly string[]): Promise<(Outfit | null)[]> {
    const tenantViewer = requireShopperDataReader(viewer);
    const rows = await this.outfits.findByIds(tenantViewer.tenantId, ids, shopperScope(tenantViewer));
    return alignToIds(ids, rows);
  }

  /**
   * The outfit of each render (Render.outfit). A render made for a shopper shows that shopper
   * its outfit even when it is not the shopper's own (a key rendered a tenant-wide outfit on
   * the shopper's photo); every other render of the viewer's, none.
   */
  async findOutfitsOfRenders(viewer: Viewer, renders: readonly RenderedOutfitRef[]): Promise<(Outfit | null)[]> {
    const tenantViewer = requireShopperDataReader(viewer);
    const shopper = shopperScope(tenantViewer);
    const visible = renders.map((r) => r.tenantId === tenantViewer.tenantId && (shopper === null || r.shopperId === shopper));
    const ids = [...new Set(renders.filter((_, i) => visible[i]).map((r) => r.outfitId))];
    const rows = ids.length > 0 ? await this.outfits.findByIds(tenantViewer.tenantId, ids, null) : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    return renders.map((r, i) => (visible[i] ? (byId.get(r.outfitId) ?? null) : null));
  }

  /** The items of each outfit (batch loader; the caller already may see the outfits). */
  async findItems(viewer: Viewer, outfitIds: readonly string[]): Promise<OutfitItem[][]> {
    const tenantViewer = requireShopperDataReader(viewer);
    const rows = await this.outfits.findItems(tenantViewer.tenantId, outfitIds);
    return outfitIds.map((id) => rows.filter((r) => r.outfitId === id));
  }
}

/** What findOutfitsOfRenders needs of a render the viewer was shown. */
export interface RenderedOutfitRef {
  tenantId: string;
  shopperId: string | null;
  outfitId: string;
}
