// Per-request DataLoaders: every list field loads its children in one query per level,
// so a page of outfits with garments and caches costs a constant number of queries.
import DataLoader from 'dataloader';
import type { ApiKey } from '../../tenants/tenant-types';
import type { Shopper } from '../../shoppers/shopper-types';
import type { Garment, ReferenceCache } from '../../garments/garment-types';
import type { PersonPhoto } from '../../photos/photo-types';
import type { Outfit, OutfitItem } from '../../outfits/outfit-types';
import type { Render } from '../../renders/render-types';
import type { WebhookDelivery, WebhookEndpoint } from '../../webhooks/webhook-types';
import { requireTenant, type Viewer } from '../../auth/viewer';
import type { Services } from './services';

export interface Loaders {
  garment: DataLoader<string, Garment | null>;
  referenceCache: DataLoader<string, ReferenceCache | null>;
  /**
   * Cache rows that came with a garments page (garment id -> row, null: none yet), read
   * synchronously by Garment.referenceCache: a page of 50 then resolves without a promise per row.
   */
  pagedReferenceCaches: Map<string, ReferenceCache | null>;
  outfit: DataLoader<string, Outfit | null>;
  outfitItems: DataLoader<string, OutfitItem[]>;
  shopper: DataLoader<string, Shopper | null>;
  personPhoto: DataLoader<string, PersonPhoto | null>;
  /** Render.outfit and Render.personPhoto: what the render shows its viewer (by render). */
  outfitOfRender: DataLoader<Render, Outfit | null, string>;
  personPhotoOfRender: DataLoader<Render, PersonPhoto | null, string>;
  apiKey: DataLoader<string, ApiKey | null>;
  webhookEndpoint: DataLoader<string, WebhookEndpoint | null>;
  webhookDelivery: DataLoader<string, WebhookDelivery | null>;
}

export function createLoaders(services: Services, viewer: Viewer): Loaders {
  return {
    garment: new DataLoader((ids) => services.garments.findGarments(viewer, ids)),
    referenceCache: new DataLoader((garmentIds) => services.garments.findCaches(requireTenant(viewer).tenantId, garmentIds)),
    pagedReferenceCaches: new Map(),
    outfit: new DataLoader((ids) => services.outfits.findOutfits(viewer, ids)),
    outfitItems: new DataLoader((ids) => services.outfits.findItems(viewer, ids)),
    shopper: new DataLoader((ids) => services.shoppers.findShoppers(viewer, ids)),
    personPhoto: new DataLoader((ids) => services.photos.findPhotos(viewer, ids)),
    outfitOfRender: new DataLoader((renders) => services.outfits.findOutfitsOfRenders(viewer, renders), {
      cacheKeyFn: (render) => render.id,
    }),
    personPhotoOfRender: new DataLoader((renders) => services.photos.findPhotosOfRenders(viewer, renders), {
      cacheKeyFn: (render) => render.id,
    }),
    apiKey: new DataLoader(async (ids) => Promise.all(ids.map((id) => services.tenants.findApiKey(viewer, id)))),
    webhookEndpoint: new DataLoader((ids) => services.webhooks.findEndpoints(viewer, ids)),
    webhookDelivery: new DataLoader((ids) => services.webhooks.findDeliveries(viewer, ids)),
  };
}
