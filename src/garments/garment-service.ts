// The catalog: garments and their reference caches. Writes need CATALOG_WRITE; reading
// needs CATALOG_READ, or a shopper session (which sees only garments not archived).
import { randomUUID } from 'node:crypto';
import type { Garment, GarmentCategory, ReferenceCache } from './garment-types';
import type { BlobStore } from '../blobs';
import { AuthError, requireScope, requireTenant, hasScope, type TenantViewer, type Viewer } from '../auth/viewer';
import { isUniqueViolation, ok, refuse, type Outcome, type UserError } from '../common/user-errors';
import type { Page, PageRequest } from '../common/pagination';
import { checkText } from '../common/text';
import { alignToIds } from '../common/ids';
import type { ImageInput, UploadService } from '../uploads/upload-service';
import type { GarmentRepository } from './garment-repository';
import type { PubSub } from '../jobs/pubsub';
import { listenTo, publish } from '../jobs/channels';
import { catalogChannel, garmentArchivedChannel } from './catalog-events';
import { quotaError, type Quotas } from '../common/quotas';
import { garmentError } from './garment-errors';

export interface CreateGarmentInput {
  sku: string;
  name: string;
  category: GarmentCategory;
  image: ImageInput;
}

/** Called after a garment was created or its failed cache reset (the engine computes its reference cache). */
export type GarmentCreatedListener = (tenantId: string, garmentId: string) => void;

/** Reading the catalog: CATALOG_READ for API keys (ADMIN includes it), any shopper session. */
export function requireCatalogRead(viewer: Viewer): TenantViewer {
  const tenantViewer = requireTenant(viewer);
  if (tenantViewer.kind === 'apiKey' && !hasScope(tenantViewer, 'CATALOG_READ'))
    throw new AuthError('FORBIDDEN', 'this API key lacks the CATALOG_READ scope');
  return tenantViewer;
}

export class GarmentService {
  private readonly listeners: GarmentCreatedListener[] = [];

  constructor(
    private readonly garments: GarmentRepository,
    private readonly uploads: UploadService,
    private readonly blobs: BlobStore,
    /** Model package id ("name@version") whose cache Garment.referenceCache shows. */
    readonly defaultModel: string,
    private readonly pubsub: PubSub,
    private readonly quotas: Quotas,
  ) {}

  onGarmentCreated(listener: GarmentCreatedListener): void {
    this.listeners.push(listener);
  }

  async createGarment(viewer: Viewer, input: CreateGarmentInput): Promise<Outcome<Garment>> {
    const tenantViewer = requireScope(viewer, 'CATALOG_WRITE');
    const { tenantId } = tenantViewer;
    const sku = checkText(input.sku, ['input', 'sku'], 'sku', 100);
    const name = checkText(input.name, ['input', 'name'], 'name', 200);
    const errors = [sku.error, name.error].filter((e): e is UserError => e !== undefined);
    if (errors.length > 0 || !sku.value || !name.value) return refuse(...errors);
    if (await this.garments.skuTaken(tenantId, sku.value)) {
      return refuse(garmentError('SKU_TAKEN', `a garment with sku ${sku.value} already exists`, ['input', 'sku']));
    }
    const resolved = await this.uploads.resolveImage(tenantViewer, input.image, ['input', 'image']);
    if (!resolved.ok) return resolved;
    const { image, uploadId } = resolved.value;
    const outcome = await this.uploads.withUpload(tenantId, uploadId, ['input', 'image'], async () => {
      const id = randomUUID();
      const imageKey = `garments/${tenantId}/${id}`;
      await this.blobs.put(imageKey, image.data, image.contentType);
      try {
        const created = await this.garments.create(
          tenantId,
          {
            id,
            sku: sku.value!,
            name: name.value!,
            category: input.category,
            imageKey,
            imageWidth: image.width,
            imageHeight: image.height,
            imageContentType: image.contentType,
            imageBytes: image.data.length,
          },
          this.defaultModel,
          randomUUID(),
          this.quotas,
        );
        if (created.kind === 'created') return ok(created.garment);
        await this.blobs.delete(imageKey);
        return refuse<Garment>(quotaError(created, ['input', 'image']));
      } catch (error) {
        await this.blobs.delete(imageKey);
        if (isUniqueViolation(error))
          return refuse<Garment>(garmentError('SKU_TAKEN', `a garment with sku ${sku.value} already exists`, ['input', 'sku']));
        throw error;
      }
    });
    if (outcome.ok) for (const listener of this.listeners) listener(tenantId, outcome.value.id);
    return outcome;
  }

  /** FAILED -> PENDING and computed again. */
  async retryReferenceCache(viewer: Viewer, garmentId: string | null): Promise<Outcome<Garment>> {
    const { tenantId } = requireScope(viewer, 'CATALOG_WRITE');
    const [garment] = garmentId ? await this.garments.findByIds(tenantId, [garmentId]) : [];
    if (!garment) return refuse(garmentError('NOT_FOUND', 'no garment with this id', ['garmentId']));
    const reset = await this.garments.resetFailedCache(tenantId, garment.id, this.defaultModel);
    if (!reset) return refuse(garmentError('CACHE_NOT_FAILED', 'the reference cache of this garment has not failed', ['garmentId']));
    for (const listener of this.listeners) listener(tenantId, garment.id);
    return ok(garment);
  }

  async archiveGarment(viewer: Viewer, garmentId: string | null): Promise<Outcome<Garment>> {
    const { tenantId } = requireScope(viewer, 'CATALOG_WRITE');
    const garment = garmentId ? await this.garments.archive(tenantId, garmentId) : null;
    if (!garment) return refuse(garmentError('NOT_FOUND', 'no garment with this id', ['id']));
    // Best effort: a worker that misses it keeps the K/V in memory until they are evicted.
    await publish(this.pubsub, garmentArchivedChannel(tenantId), { tenantId, garmentId: garment.id }).catch(() => undefined);
    return ok(garment);
  }

  /**
   * A page of the catalog. `include.caches`: the default model's cache rows come from the same
   * transaction (null where a garment has none); `include.count`: totalCount is computed.
   */
  async listGarments(
    viewer: Viewer,
    page: PageRequest,
    category: GarmentCategory | null | undefined,
    include: { count: boolean; caches: boolean } = { count: true, caches: false },
  ): Promise<{ page: Page<Garment>; caches: Map<string, ReferenceCache | null> | null }> {
    const tenantViewer = requireCatalogRead(viewer);
    const result = await this.garments.list(
      tenantViewer.tenantId,
      page,
      { category: category ?? undefined, includeArchived: tenantViewer.kind === 'apiKey' },
      { count: include.count, ...(include.caches ? { cachesForModel: this.defaultModel } : {}) },
    );
    if (!include.caches) return { page: result.page, caches: null };
    const caches = new Map<string, ReferenceCache | null>(result.page.items.map((garment) => [garment.id, null]));
    for (const cache of result.caches) caches.set(cache.garmentId, cache);
    return { page: result.page, caches };
  }

  /** Garments by id, in the order asked, null where missing or not visible (batch loader). */
  async findGarments(viewer: Viewer, ids: readonly string[]): Promise<(Garment | null)[]> {
    const tenantViewer = requireCatalogRead(viewer);
    const rows = await this.garments.findByIds(tenantViewer.tenantId, ids);
    return alignToIds(ids, rows);
  }

  /**
   * Garments of the viewer's tenant as their reference cache changes state (READY or
   * FAILED), read when the event arrives; endless until the caller returns the iterator.
   */
  async cacheChanges(viewer: Viewer): Promise<AsyncIterableIterator<Garment>> {
    const tenantViewer = requireCatalogRead(viewer);
    const messages = await listenTo(this.pubsub, catalogChannel(tenantViewer.tenantId));
    const iterator: AsyncIterableIterator<Garment> = {
      next: async () => {
        for (;;) {
          const message = await messages.next();
          if (message.done) return { value: undefined, done: true };
          const [garment] = await this.findGarments(tenantViewer, [message.value]);
          if (garment) return { value: garment, done: false };
        }
      },
      return: async () => {
        await messages.return?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The default model's cache row of each garment (null where none exists yet). */
  async findCaches(tenantId: string, garmentIds: readonly string[]): Promise<(ReferenceCache | null)[]> {
    const rows = await this.garments.findCaches(tenantId, garmentIds, this.defaultModel);
    return alignToIds(garmentIds, rows, (cache) => cache.garmentId);
  }
}
