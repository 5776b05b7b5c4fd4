// The only code that touches person_photos.
import type { PersonEncoding, PersonPhoto } from './photo-types';
import type { Database } from '../db/database';
import { keysetQuery, toPage, type Page, type PageRequest } from '../common/pagination';
import { checkQuotas, type QuotaRefusal, type Quotas } from '../common/quotas';

/** A new row: what the caller decides (the tenant is the method's argument; the rest are defaults). */
export type NewPersonPhoto = Omit<PersonPhoto, 'tenantId' | 'createdAt'>;

export class PhotoRepository {
  constructor(private readonly db: Database) {}

  /**
   * The photo with its encoding PENDING for `encoding.model` (the row is what the sweep finds
   * when the encoding job was lost), unless it exceeds the tenant's storage or its shopper's
   * photo quota.
   */
  create(
    tenantId: string,
    photo: NewPersonPhoto,
    encoding: { id: string; model: string },
    quotas: Quotas,
  ): Promise<{ kind: 'created'; photo: PersonPhoto } | QuotaRefusal> {
    return this.db.withTenant(tenantId, async (tx) => {
      const refusal = await checkQuotas(tx, tenantId, { bytes: photo.imageBytes, shopperId: photo.shopperId }, quotas);
      if (refusal) return refusal;
      const created = await tx.personPhoto.create({ data: { ...photo, tenantId, encodings: { create: { ...encoding, tenantId } } } });
      return { kind: 'created' as const, photo: created };
    });
  }

  /**
   * Deletes a photo (with `shopperId`, only that shopper's) and, with it, its encodings and its
   * renders (foreign keys cascade); returns the blob keys of the photo and its encodings, or
   * null when there is no such photo.
   */
  delete(tenantId: string, id: string, shopperId: string | null): Promise<{ photo: PersonPhoto; blobKeys: string[] } | null> {
    return this.db.withTenant(tenantId, async (tx) => {
      const photo = await tx.personPhoto.findFirst({
        where: { id, tenantId, ...(shopperId ? { shopperId } : {}) },
        include: { encodings: true },
      });
      if (!photo) return null;
      await tx.personPhoto.delete({ where: { id } });
      const { encodings, ...row } = photo;
      const encodingKeys = encodings.map((e) => e.blobKey).filter((key): key is string => key !== null);
      return { photo: row, blobKeys: [photo.imageKey, ...encodingKeys] };
    });
  }

  /** Photos by id; with `shopperId`, only that shopper's. */
  findByIds(tenantId: string, ids: readonly string[], shopperId: string | null): Promise<PersonPhoto[]> {
    return this.db.withTenant(tenantId, (tx) =>
      tx.personPhoto.findMany({ where: { tenantId, id: { in: [...ids] }, ...(shopperId ? { shopperId } : {}) } }),
    );
  }

  list(tenantId: string, page: PageRequest, shopperId: string | null): Promise<Page<PersonPhoto>> {
    const where = { tenantId, ...(shopperId ? { shopperId } : {}) };
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([
        tx.personPhoto.findMany({ ...q, where: { ...where, ...q.where } }),
        tx.personPhoto.count({ where }),
      ]);
      return toPage(rows, page, total);
    });
  }

  ensureEncoding(tenantId: string, photoId: string, model: string, newId: string): Promise<PersonEncoding> {
    return this.db.withTenant(tenantId, (tx) =>
      tx.personEncoding.upsert({
        where: { photoId_model: { photoId, model } },
        create: { id: newId, tenantId, photoId, model },
        update: {},
      }),
    );
  }

  markEncodingReady(tenantId: string, id: string, result: { blobKey: string; bytes: number; computeMs: number }): Promise<PersonEncoding> {
    return this.db.withTenant(tenantId, (tx) =>
      tx.personEncoding.update({ where: { id }, data: { ...result, status: 'READY', error: null } }),
    );
  }

  /** Platform-wide: encodings still PENDING since before `updatedBefore` (their job may be lost). */
  findStalePendingEncodings(updatedBefore: Date, limit = 500): Promise<Pick<PersonEncoding, 'tenantId' | 'photoId' | 'model'>[]> {
    return this.db.withSystem((tx) =>
      tx.personEncoding.findMany({
        where: { status: 'PENDING', updatedAt: { lt: updatedBefore } },
        select: { tenantId: true, photoId: true, model: true },
        orderBy: { updatedAt: 'asc' },
        take: limit,
      }),
    );
  }

  markEncodingFailed(tenantId: string, id: string, error: string): Promise<PersonEncoding> {
    return this.db.withTenant(tenantId, (tx) => tx.personEncoding.update({ where: { id }, data: { status: 'FAILED', error } }));
  }
}
