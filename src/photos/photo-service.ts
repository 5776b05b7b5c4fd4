// Person photos: uploaded by a tenant (RENDERS_WRITE) for any of its shoppers or none, or
// by a shopper session for itself, within the tenant's storage and the shopper's photo quota.
// Reading them needs RENDERS_READ (auth/viewer.ts). A shopper sees and deletes only its own
// photos, and sees the photo of a render made for it; a deleted photo takes its encodings and
// its renders (with their results) along.
import { randomUUID } from 'node:crypto';
import type { PersonPhoto } from './photo-types';
import type { BlobStore } from '../blobs';
import { requireScope, requireShopperDataReader, shopperScope, type Viewer } from '../auth/viewer';
import { ok, refuse, type Outcome } from '../common/user-errors';
import { quotaError, type Quotas } from '../common/quotas';
import type { Page, PageRequest } from '../common/pagination';
import { alignToIds } from '../common/ids';
import type { ImageInput, UploadService } from '../uploads/upload-service';
import type { ShopperService } from '../shoppers/shopper-service';
import type { PhotoRepository } from './photo-repository';
import { photoError } from './photo-errors';

/** Called after a photo was stored (the render engine encodes it). */
export type PhotoUploadedListener = (tenantId: string, photoId: string) => void;
/** Awaited before a photo is deleted (its renders go first, so none is left running on it). */
export type PhotoDeletingListener = (tenantId: string, photoId: string) => Promise<void>;

export class PhotoService {
  private readonly listeners: PhotoUploadedListener[] = [];
  private readonly deletingListeners: PhotoDeletingListener[] = [];

  constructor(
    private readonly photos: PhotoRepository,
    private readonly shoppers: ShopperService,
    private readonly uploads: UploadService,
    private readonly blobs: BlobStore,
    /** The model whose encoding a new photo gets (PENDING until the job computes it). */
    private readonly defaultModel: string,
    private readonly quotas: Quotas,
  ) {}

  onPhotoUploaded(listener: PhotoUploadedListener): void {
    this.listeners.push(listener);
  }

  onPhotoDeleting(listener: PhotoDeletingListener): void {
    this.deletingListeners.push(listener);
  }

  /** `shopperId`: undefined when not given, null when given but not a valid ID. */
  async uploadPersonPhoto(
    viewer: Viewer,
    input: { image: ImageInput; shopperId: string | null | undefined },
  ): Promise<Outcome<PersonPhoto>> {
    const tenantViewer = requireScope(viewer, 'RENDERS_WRITE', true);
    let shopperId: string | null = null;
    if (input.shopperId !== undefined) {
      if (!input.shopperId || !(await this.shoppers.shopperExists(tenantViewer, input.shopperId))) {
        return refuse(photoError('NOT_FOUND', 'no shopper with this id', ['input', 'shopperId']));
      }
      shopperId = input.shopperId;
    }
    if (tenantViewer.kind === 'shopper') shopperId = tenantViewer.shopperId;
    const resolved = await this.uploads.resolveImage(tenantViewer, input.image, ['input', 'image']);
    if (!resolved.ok) return resolved;
    const { image, uploadId } = resolved.value;
    const outcome = await this.uploads.withUpload(tenantViewer.tenantId, uploadId, ['input', 'image'], async () => {
      const id = randomUUID();
      const imageKey = `photos/${tenantViewer.tenantId}/${id}`;
      await this.blobs.put(imageKey, image.data, image.contentType);
      let created;
      try {
        created = await this.photos.create(
          tenantViewer.tenantId,
          {
            id,
            shopperId,
            imageKey,
            imageWidth: image.width,
            imageHeight: image.height,
            imageContentType: image.contentType,
            imageBytes: image.data.length,
          },
          { id: randomUUID(), model: this.defaultModel },
          this.quotas,
        );
      } catch (error) {
        await this.blobs.delete(imageKey);
        throw error;
      }
      if (created.kind === 'created') return ok(created.photo);
      await this.blobs.delete(imageKey);
      return refuse<PersonPhoto>(quotaError(created, ['input', 'image']));
    });
    if (outcome.ok) for (const listener of this.listeners) listener(tenantViewer.tenantId, outcome.value.id);
    return outcome;
  }

  /**
   * Deletes a photo of the tenant (a shopper: one of its own), its encodings and its renders
   * with their results; a render running on it is canceled first.
   */
  async deletePersonPhoto(viewer: Viewer, photoId: string | null): Promise<Outcome<PersonPhoto>> {
    const tenantViewer = requireScope(viewer, 'RENDERS_WRITE', true);
    const notFound = refuse<PersonPhoto>(photoError('NOT_FOUND', 'no person photo with this id', ['id']));
    const [photo] = photoId ? await this.photos.findByIds(tenantViewer.tenantId, [photoId], shopperScope(tenantViewer)) : [];
    if (!photo) return notFound;
    for (const listener of this.deletingListeners) await listener(tenantViewer.tenantId, photo.id);
    const deleted = await this.photos.delete(tenantViewer.tenantId, photo.id, shopperScope(tenantViewer));
    if (!deleted) return notFound; // deleted meanwhile by another request
    for (const key of deleted.blobKeys) await this.blobs.delete(key);
    // Also an encoding a worker stored while this ran.
    await this.blobs.deleteAllUnder(`encodings/${tenantViewer.tenantId}/${photo.id}`);
    return ok(deleted.photo);
  }

  listPhotos(viewer: Viewer, page: PageRequest): Promise<Page<PersonPhoto>> {
    const tenantViewer = requireShopperDataReader(viewer);
    return this.photos.list(tenantViewer.tenantId, page, shopperScope(tenantViewer));
  }

  async findPhotos(viewer: Viewer, ids: readonly string[]): Promise<(PersonPhoto | null)[]> {
    const tenantViewer = requireShopperDataReader(viewer);
    const rows = await this.photos.findByIds(tenantViewer.tenantId, ids, shopperScope(tenantViewer));
    return alignToIds(ids, rows);
  }

  /**
   * The person photo of each render (Render.personPhoto). A render made for a shopper shows
   * that shopper its photo even when it is not the shopper's own (a key rendered a photo of
   * the tenant's for it); every other render of the viewer's, none.
   */
  async findPhotosOfRenders(viewer: Viewer, renders: readonly RenderedPhotoRef[]): Promise<(PersonPhoto | null)[]> {
    const tenantViewer = requireShopperDataReader(viewer);
    const shopper = shopperScope(tenantViewer);
    const visible = renders.map((r) => r.tenantId === tenantViewer.tenantId && (shopper === null || r.shopperId === shopper));
    const ids = [...new Set(renders.filter((_, i) => visible[i]).map((r) => r.personPhotoId))];
    const rows = ids.length > 0 ? await this.photos.findByIds(tenantViewer.tenantId, ids, null) : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    return renders.map((r, i) => (visible[i] ? (byId.get(r.personPhotoId) ?? null) : null));
  }
}

/** What findPhotosOfRenders needs of a render the viewer was shown. */
export interface RenderedPhotoRef {
  tenantId: string;
  shopperId: string | null;
  personPhotoId: string;
}
