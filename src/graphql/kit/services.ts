// The services a GraphQL operation reaches (context.services): one per domain, built by the
// composition root (src/main/services.ts) and shared by every transport.
import type { Authenticator } from '../../auth/authenticator';
import type { FileLinks } from '../../blobs/file-links';
import type { TenantService } from '../../tenants/tenant-service';
import type { ShopperService } from '../../shoppers/shopper-service';
import type { UploadService } from '../../uploads/upload-service';
import type { GarmentService } from '../../garments/garment-service';
import type { PhotoService } from '../../photos/photo-service';
import type { OutfitService } from '../../outfits/outfit-service';
import type { RenderService } from '../../renders/render-service';
import type { WebhookService } from '../../webhooks/webhook-service';

export interface Services {
  authenticator: Authenticator;
  tenants: TenantService;
  shoppers: ShopperService;
  uploads: UploadService;
  garments: GarmentService;
  photos: PhotoService;
  outfits: OutfitService;
  fileLinks: FileLinks;
  renders: RenderService;
  webhooks: WebhookService;
}
