// Builds the services from their repositories: the part of the composition root that
// knows business wiring (platform.ts, api-process.ts and worker-process.ts know processes and transports).
import type { Database } from '../db/database';
import type { BlobStore, UrlSigner } from '../blobs';
import { FileLinks } from '../blobs/file-links';
import { SessionTokens } from '../auth/tokens';
import { Authenticator } from '../auth/authenticator';
import { apiKeyRevokedChannel } from '../auth/api-key-revocations';
import { TenantRepository } from '../tenants/tenant-repository';
import { TenantService } from '../tenants/tenant-service';
import { ShopperRepository } from '../shoppers/shopper-repository';
import { ShopperService } from '../shoppers/shopper-service';
import { UploadRepository } from '../uploads/upload-repository';
import { UploadService } from '../uploads/upload-service';
import { GarmentRepository } from '../garments/garment-repository';
import type { CatalogVersions } from '../garments/catalog-versions';
import { GarmentService } from '../garments/garment-service';
import { enqueueReferenceCache } from '../garments/reference-cache-jobs';
import { PhotoRepository } from '../photos/photo-repository';
import { PhotoService } from '../photos/photo-service';
import { photoDeletedChannel } from '../photos/photo-events';
import { enqueuePersonEncoding } from '../photos/person-encoding-jobs';
import { OutfitRepository } from '../outfits/outfit-repository';
import { OutfitService } from '../outfits/outfit-service';
import { RenderService } from '../renders/render-service';
import { RenderRepository } from '../renders/render-repository';
import type { JobQueue } from '../jobs/job-queue';
import type { PubSub } from '../jobs/pubsub';
import type { Logger } from '../observability/logger';
import { publish } from '../jobs/channels';
import { WebhookRepository } from '../webhooks/webhook-repository';
import { WebhookSecrets, WebhookService } from '../webhooks/webhook-service';
import type { Quotas } from '../common/quotas';
import type { Services } from '../graphql/kit/services';

export type { Services };

export interface ServiceDeps {
  db: Database;
  blobs: BlobStore;
  fileSigner: UrlSigner;
  uploadSigner: UrlSigner;
  sessionSecrets: string[];
  operatorToken: string | undefined;
  publicUrl: () => string;
  defaultModel: string;
  queue: JobQueue;
  pubsub: PubSub;
  logger: Logger;
  /** The server's signing secrets, newest first: each webhook endpoint's secret is derived from the first. */
  webhookSecrets: string[];
  /** Told of every catalog write (the GraphQL response cache keys catalog reads by it). */
  catalogVersions: CatalogVersions;
  /** Webhooks may go to loopback/private addresses (ATELIER_WEBHOOK_PRIVATE_NETWORKS). */
  webhookPrivateNetworks: boolean;
  /** Active webhook endpoints per tenant (ATELIER_WEBHOOK_MAX_ENDPOINTS). */
  webhookMaxEndpoints: number;
  /** The tenant storage and shopper photo quotas (ATELIER_TENANT_STORAGE_MB, ATELIER_SHOPPER_MAX_PHOTOS). */
  quotas: Quotas;
  /** A progress subscription that hears nothing for this long re-reads its render (ms). Default 10000. */
  progressResyncMs?: number;
}

export function createServices(deps: ServiceDeps): Services {
  const tenantRepository = new TenantRepository(deps.db);
  const sessions = new SessionTokens(deps.sessionSecrets);
  const shoppers = new ShopperService(new ShopperRepository(deps.db), sessions);
  const uploads = new UploadService(new UploadRepository(deps.db), deps.blobs, deps.uploadSigner, deps.publicUrl, deps.quotas);
  const garments = new GarmentService(
    new GarmentRepository(deps.db, deps.catalogVersions),
    uploads,
    deps.blobs,
    deps.defaultModel,
    deps.pubsub,
    deps.quotas,
  );
  const photos = new PhotoService(new PhotoRepository(deps.db), shoppers, uploads, deps.blobs, deps.defaultModel, deps.quotas);
  const outfits = new OutfitService(new OutfitRepository(deps.db), garments, shoppers);
  // New garments and photos are encoded ahead of any render; a failed enqueue is only logged,
  // since a render computes whatever is missing.
  const logEnqueueFailure = (error: unknown) => deps.logger.warn({ err: error }, 'could not enqueue an encoding job');
  garments.onGarmentCreated((tenantId, garmentId) => {
    enqueueReferenceCache(deps.queue, tenantId, garmentId, deps.defaultModel).catch(logEnqueueFailure);
  });
  photos.onPhotoUploaded((tenantId, photoId) => {
    enqueuePersonEncoding(deps.queue, tenantId, photoId, deps.defaultModel).catch(logEnqueueFailure);
  });
  const renders = new RenderService(
    new RenderRepository(deps.db),
    outfits,
    photos,
    deps.queue,
    deps.pubsub,
    deps.blobs,
    deps.defaultModel,
    deps.logger,
    deps.progressResyncMs,
  );
  // A photo's renders (and their results) go before the photo itself.
  photos.onPhotoDeleting((tenantId, photoId) => renders.deleteRendersOfPhoto(tenantId, photoId));
  // Workers drop its decoded encoding from memory (best effort: else it ages out).
  photos.onPhotoDeleting((tenantId, photoId) =>
    publish(deps.pubsub, photoDeletedChannel(tenantId), { tenantId, photoId }).catch(() => undefined),
  );
  const authenticator = new Authenticator(tenantRepository, sessions, deps.operatorToken);
  const tenants = new TenantService(tenantRepository);
  // A revoked key stops working here at once (its open sockets closed too), and in other API
  // processes when they hear of it.
  tenants.onApiKeyRevoked((key) => {
    const event = { tenantId: key.tenantId, apiKeyId: key.id, secretHash: key.secretHash };
    authenticator.apiKeyRevoked(event);
    publish(deps.pubsub, apiKeyRevokedChannel(key.tenantId), event).catch((error: unknown) =>
      deps.logger.error({ err: error }, 'could not announce an API key revocation'),
    );
  });
  return {
    authenticator,
    tenants,
    shoppers,
    uploads,
    garments,
    photos,
    outfits,
    fileLinks: new FileLinks(deps.fileSigner, deps.publicUrl),
    webhooks: new WebhookService(new WebhookRepository(deps.db), deps.queue, new WebhookSecrets(deps.webhookSecrets), {
      allowPrivateNetworks: deps.webhookPrivateNetworks,
      maxEndpoints: deps.webhookMaxEndpoints,
    }),
    renders,
  };
}
