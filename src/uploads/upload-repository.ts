// The only code that touches uploads (staged image uploads).
import type { Upload } from '../generated/prisma/client';
import type { Database } from '../db/database';

export class UploadRepository {
  constructor(private readonly db: Database) {}

  create(tenantId: string, upload: { id: string; shopperId: string | null; contentType: string; byteSize: number; expiresAt: Date }): Promise<Upload> {
    return this.db.withTenant(tenantId, (tx) => tx.upload.create({ data: { ...upload, tenantId } }));
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
