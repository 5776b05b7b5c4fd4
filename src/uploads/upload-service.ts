// Staged uploads (createUpload, then HTTP PUT of the bytes) and the one place that turns
// an ImageInput (dataUrl or uploadId) into a validated, normalized image.
import { randomUUID } from 'node:crypto';
import { decodeDataUrl, normalizeImage, DEFAULT_MAX_IMAGE_BYTES, type NormalizedImage } from '../images';
import type { BlobStore, UrlSigner } from '../blobs';
import { requireTenant, hasScope, AuthError, type Viewer, type TenantViewer } from '../auth/viewer';
import { fromGlobalId, toGlobalId } from '../common/ids';
import { ok, refuse, userError, type Outcome } from '../common/user-errors';
import type { UploadRepository } from './upload-repository';
import { quotaError, type Quotas } from '../tenants/quotas';

/** How long an upload's link takes bytes (its expiresAt). */
export const UPLOAD_TTL_MS = 15 * 60_000;
/** How long after its link expired an upload that received its bytes may still be used; then the sweep deletes it, used or not. */
export const UPLOAD_KEEP_MS = 60 * 60_000;
const ACCEPTED_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

export interface ImageInput {
  dataUrl?: string | null;
  uploadId?: string | null;
}

export interface CreatedUpload {
  uploadId: string;
  uploadUrl: string;
  expiresAt: Date;
}

export type ReceiveResult = 'ok' | 'forbidden' | 'expired' | 'not_found' | 'too_large' | 'already_received';

export class UploadService {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly blobs: BlobStore,
    private readonly uploadSigner: UrlSigner,
    private readonly publicUrl: () => string,
    private readonly quotas: Quotas,
  ) {}

  async createUpload(viewer: Viewer, input: { contentType: string; byteSize: number }): Promise<Outcome<CreatedUpload>> {
    const v = requireTenant(viewer);
    if (v.kind === 'apiKey' && !hasScope(v, 'CATALOG_WRITE') && !hasScope(v, 'RENDERS_WRITE')) {
      throw new AuthError('FORBIDDEN', 'uploading needs the CATALOG_WRITE or RENDERS_WRITE scope');
    }
    const errors = [];
    if (!ACCEPTED_TYPES.includes(input.contentType)) {
      errors.push(userError('UNSUPPORTED_IMAGE_FORMAT', 'contentType must be image/png, image/jpeg or image/webp', ['input', 'contentType']));
    }
    if (!Number.isInteger(input.byteSize) || input.byteSize < 1) {
      errors.push(userError('OUT_OF_RANGE', 'byteSize must be a positive number of bytes', ['input', 'byteSize']));
    } else if (input.byteSize > DEFAULT_MAX_IMAGE_BYTES) {
      errors.push(userError('IMAGE_TOO_LARGE', `byteSize is over the ${DEFAULT_MAX_IMAGE_BYTES}-byte image limit`, ['input', 'byteSize']));
    }
    if (errors.length > 0) return refuse(...errors);
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + UPLOAD_TTL_MS);
    const created = await this.uploads.create(
      v.tenantId,
      { id, shopperId: v.kind === 'shopper' ? v.shopperId : null, contentType: input.contentType, byteSize: input.byteSize, expiresAt },
      this.quotas,
    );
    if (created.kind !== 'created') return refuse(quotaError(created, created.kind === 'storage' ? ['input', 'byteSize'] : undefined));
    const path = this.uploadSigner.sign(`${v.tenantId}/${id}`, expiresAt);
    return ok({ uploadId: toGlobalId('Upload', id), uploadUrl: `${this.publicUrl()}${path}`, expiresAt });
  }

  /** Stores the bytes of an HTTP PUT to a signed upload URL (key "<tenantId>/<uploadId>"). */
  async receive(key: string, exp: string, sig: string, body: Buffer): Promise<ReceiveResult> {
    const check = this.uploadSigner.verify(key, exp, sig);
    if (check !== 'ok') return check === 'expired' ? 'expired' : 'forbidden';
    const [tenantId, uploadId] = key.split('/');
    if (!tenantId || !uploadId) return 'forbidden';
    const upload = await this.uploads.find(tenantId, uploadId);
    if (!upload) return 'not_found';
    if (upload.status !== 'PENDING') return 'already_received';
    if (body.length > upload.byteSize) return 'too_large';
    const blobKey = `uploads/${tenantId}/${uploadId}`;
    await this.blobs.put(blobKey, body, upload.contentType);
    if (!(await this.uploads.markReceived(tenantId, uploadId, blobKey, new Date()))) {
      await this.blobs.delete(blobKey);
      return 'already_received';
    }
    return 'ok';
  }

  /**
   * Validates and normalizes the image of a mutation. `field` is where userErrors point.
   * An upload is consumed only by a successful call: consumeUpload() after the caller's write.
   */
  async resolveImage(viewer: TenantViewer, input: ImageInput, field: string[]): Promise<Outcome<{ image: NormalizedImage; uploadId: string | null }>> {
    const hasData = typeof input.dataUrl === 'string';
    const hasUpload = typeof input.uploadId === 'string';
    if (hasData === hasUpload) {
      return refuse(userError('INVALID_IMAGE_INPUT', 'give exactly one of dataUrl or uploadId', field));
    }
    let bytes: Buffer;
    let uploadId: string | null = null;
    if (hasData) {
      const decoded = decodeDataUrl(input.dataUrl!);
      if (!decoded.ok) return refuse(userError(decoded.code, decoded.message, [...field, 'dataUrl']));
      bytes = decoded.bytes;
    } else {
      uploadId = fromGlobalId(input.uploadId!, 'Upload');
      const upload = uploadId ? await this.uploads.find(viewer.tenantId, uploadId) : null;
      const shopperMismatch = upload && viewer.kind === 'shopper' && upload.shopperId !== viewer.shopperId;
      if (!upload || shopperMismatch) return refuse(userError('NOT_FOUND', 'no upload with this id', [...field, 'uploadId']));
      if (upload.status === 'CONSUMED') return refuse(userError('UPLOAD_ALREADY_USED', 'this upload was already used', [...field, 'uploadId']));
      if (upload.status === 'RECEIVED' && upload.expiresAt.getTime() + UPLOAD_KEEP_MS <= Date.now()) {
        return refuse(userError('UPLOAD_EXPIRED', 'the upload was not used within an hour after its link expired', [...field, 'uploadId']));
      }
      if (upload.status !== 'RECEIVED' || !upload.blobKey) {
        const expired = upload.expiresAt.getTime() <= Date.now();
        return refuse(
          userError(
            expired ? 'UPLOAD_EXPIRED' : 'UPLOAD_INCOMPLETE',
            expired ? 'the upload expired before its bytes arrived' : 'the bytes of this upload have not been PUT to its uploadUrl yet',
            [...field, 'uploadId'],
          ),
        );
      }
      const blob = await this.blobs.get(upload.blobKey);
      if (!blob) return refuse(userError('UPLOAD_INCOMPLETE', 'the bytes of this upload are missing', [...field, 'uploadId']));
      bytes = blob.data;
    }
    const normalized = await normalizeImage(bytes);
    if (!normalized.ok) return refuse(userError(normalized.code, normalized.message, field));
    return ok({ image: normalized.image, uploadId });
  }

  /**
   * Runs `write` holding the upload (if any): the upload is marked used first (so two
   * mutations cannot both use it), released again if `write` refuses or fails, and its
   * staged bytes are deleted once `write` succeeded.
   */
  async withUpload<T>(tenantId: string, uploadId: string | null, field: string[], write: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    if (uploadId === null) return write();
    if (!(await this.uploads.markConsumed(tenantId, uploadId))) {
      return refuse(userError('UPLOAD_ALREADY_USED', 'this upload was already used', [...field, 'uploadId']));
    }
    let outcome: Outcome<T>;
    try {
      outcome = await write();
    } catch (error) {
      await this.uploads.release(tenantId, uploadId);
      throw error;
    }
    if (outcome.ok) await this.blobs.delete(`uploads/${tenantId}/${uploadId}`);
    else await this.uploads.release(tenantId, uploadId);
    return outcome;
  }

  /**
   * The sweep: deletes every upload whose link expired more than UPLOAD_KEEP_MS before `now`,
   * with its staged bytes, whether it was used (its bytes already went), refused or never used.
   */
  async deleteExpired(now: Date): Promise<number> {
    const expired = await this.uploads.findExpired(new Date(now.getTime() - UPLOAD_KEEP_MS));
    for (const upload of expired) {
      if (upload.blobKey) await this.blobs.delete(upload.blobKey);
      await this.uploads.delete(upload.tenantId, upload.id);
    }
    return expired.length;
  }
}
