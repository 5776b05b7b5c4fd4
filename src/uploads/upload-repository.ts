// The only code that touches uploads (staged image uploads).
import type { Upload } from './upload-types';
import type { Database } from '../db/database';
import { checkQuotas, type QuotaRefusal, type Quotas } from '../common/quotas';

export interface NewUpload {
  id: string;
  shopperId: string | null;
  contentType: string;
  byteSize: number;
  expiresAt: Date;
}

export class UploadRepository {
  constructor(private readonly db: Database) {}

  /** Writes the upload unless its byteSize (or, for a shopper, one more photo) exceeds a quota. */
  create(tenantId: string, upload: NewUpload, quotas: Quotas): Promise<{ kind: 'created'; upload: Upload } | QuotaRefusal> {
    return this.db.withTenant(tenantId, async (tx) => {
      const refusal = await checkQuotas(tx, tenantId, { bytes: upload.byteSize, shopperId: upload.shopperId }, quotas);
      if (refusal) return refusal;
      return { kind: 'created' as const, upload: await tx.upload.create({ data: { ...upload, tenantId } }) };
    });
  }

  /** Platform-wide: uploads whose link expired before `expiredBefore`, whatever became of them. */
  findExpired(expiredBefore: Date, limit = 500): Promise<Pick<Upload, 'id' | 'tenantId' | 'blobKey'>[]> {
    return this.db.withSystem((tx) =>
      tx.upload.findMany({
        where: { expiresAt: { lt: expiredBefore } },
        select: { id: true, tenantId: true, blobKey: true },
        orderBy: { expiresAt: 'asc' },
        take: limit,
      }),
    );
  }

  /** Deletes an upload's row (its staged bytes are the caller's to delete). */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.withTenant(tenantId, (tx) => tx.upload.deleteMany({ where: { id, tenantId } }));
  }

  find(tenantId: string, id: string): Promise<Upload | null> {
    return this.db.withTenant(tenantId, (tx) => tx.upload.findFirst({ where: { id, tenantId } }));
  }

  /** PENDING -> RECEIVED once; false when the upload is missing, expired or already filled. */
  async markReceived(tenantId: string, id: string, blobKey: string, now: Date): Promise<boolean> {
    const { count } = await this.db.withTenant(tenantId, (tx) =>
      tx.upload.updateMany({ where: { id, tenantId, status: 'PENDING', expiresAt: { gt: now } }, data: { status: 'RECEIVED', blobKey } }),
    );
    return count === 1;
  }

  /** RECEIVED -> CONSUMED once; false when someone else consumed it first. */
  async markConsumed(tenantId: string, id: string): Promise<boolean> {
    const { count } = await this.db.withTenant(tenantId, (tx) =>
      tx.upload.updateMany({ where: { id, tenantId, status: 'RECEIVED' }, data: { status: 'CONSUMED' } }),
    );
    return count === 1;
  }

  /** CONSUMED -> RECEIVED: the mutation that took it did not complete. */
  async release(tenantId: string, id: string): Promise<void> {
    await this.db.withTenant(tenantId, (tx) =>
      tx.upload.updateMany({ where: { id, tenantId, status: 'CONSUMED' }, data: { status: 'RECEIVED' } }),
    );
  }
}
