// Staged uploads (createUpload, then HTTP PUT of the bytes) and the one place that turns
// an ImageInput (dataUrl or uploadId) into a validated, normalized image.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decodeDataUrl, imageUserError, normalizeImage, DEFAULT_MAX_IMAGE_BYTES, type NormalizedImage } from '../images';
import { BlobStoreError, type BlobStore, type UrlSigner } from '../blobs';
import { requireTenant, hasScope, AuthError, type Viewer, type TenantViewer } from '../auth/viewer';
import { fromGlobalId, toGlobalId } from '../common/ids';
import { ok, refuse, type Outcome } from '../common/user-errors';
import type { UploadRepository } from './upload-repository';
import { quotaError, type Quotas } from '../common/quotas';
import { uploadError, type UploadPutRefusal } from './upload-errors';

/** Where an upload's bytes are staged: one blob per PUT attempt below it. */
function uploadPrefix(tenantId: string, uploadId: string): string {
  return `uploads/${tenantId}/${uploadId}`;
}

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

/**
 * What became of an upload PUT. Every refusal but `incomplete` is decided before a byte of the
 * body is read; `incomplete`: the body ended before its Content-Length (nothing was stored).
 */
export type ReceiveResult = 'ok' | UploadPutRefusal;

/** An upload PUT as the HTTP layer sees it: the link's parts, the declared length, and the body, opened only once accepted. */
export interface UploadPut {
  /** "<tenantId>/<uploadId>", from the URL's path. */
  key: string;
  exp: string;
  sig: string;
  /** The request's Content-Length; null when it has none (a chunked body). */
  declaredLength: number | null;
  /** Called once every check passed, to start reading the body (an HTTP server sends 100 Continue here). */
  openBody: () => Readable;
}

export class UploadService {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly blobs: BlobStore,
    private readonly uploadSigner: UrlSigner,
    private readonly publicUrl: () => string,
    private readonly quotas: Quotas,
  ) {}

  async createUpload(viewer: Viewer, input: { contentType: string; byteSize: number }): Promise<Outcome<CreatedUpload>> {
    const tenantViewer = requireTenant(viewer);
    if (tenantViewer.kind === 'apiKey' && !hasScope(tenantViewer, 'CATALOG_WRITE') && !hasScope(tenantViewer, 'RENDERS_WRITE')) {
      throw new AuthError('FORBIDDEN', 'uploading needs the CATALOG_WRITE or RENDERS_WRITE scope');
    }
    const errors = [];
    if (!ACCEPTED_TYPES.includes(input.contentType)) {
      errors.push(
        uploadError('UNSUPPORTED_IMAGE_FORMAT', 'contentType must be image/png, image/jpeg or image/webp', ['input', 'contentType']),
      );
    }
    if (!Number.isInteger(input.byteSize) || input.byteSize < 1) {
      errors.push(uploadError('OUT_OF_RANGE', 'byteSize must be a positive number of bytes', ['input', 'byteSize']));
    } else if (input.byteSize > DEFAULT_MAX_IMAGE_BYTES) {
      errors.push(
        uploadError('IMAGE_TOO_LARGE', `byteSize is over the ${DEFAULT_MAX_IMAGE_BYTES}-byte image limit`, ['input', 'byteSize']),
      );
    }
    if (errors.length > 0) return refuse(...errors);
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + UPLOAD_TTL_MS);
    const created = await this.uploads.create(
      tenantViewer.tenantId,
      {
        id,
        shopperId: tenantViewer.kind === 'shopper' ? tenantViewer.shopperId : null,
        contentType: input.contentType,
        byteSize: input.byteSize,
        expiresAt,
      },
      this.quotas,
    );
    if (created.kind !== 'created') return refuse(quotaError(created, created.kind === 'storage' ? ['input', 'byteSize'] : undefined));
    const path = this.uploadSigner.sign(`${tenantViewer.tenantId}/${id}`, expiresAt);
    return ok({ uploadId: toGlobalId('Upload', id), uploadUrl: `${this.publicUrl()}${path}`, expiresAt });
  }

  /**
   * Stores the body of an HTTP PUT to a signed upload URL. The link (signature, expiry), the
   * upload and the declared length (at most the upload's byteSize) are checked first, from the
   * URL and headers alone; only then is the body opened and streamed to the blob store, which
   * takes exactly the declared bytes or nothing. Each attempt writes under a key of its own, so
   * two PUTs of one link at once cannot clobber each other's bytes: the one that marks the
   * upload received keeps its blob, the other deletes its own.
   */
  async receive(put: UploadPut): Promise<ReceiveResult> {
    const check = this.uploadSigner.verify(put.key, put.exp, put.sig);
    if (check !== 'ok') return check === 'expired' ? 'expired' : 'forbidden';
    const [tenantId, uploadId] = put.key.split('/');
    if (!tenantId || !uploadId) return 'forbidden';
    if (put.declaredLength === null) return 'length_required';
    if (put.declaredLength > DEFAULT_MAX_IMAGE_BYTES) return 'too_large';
    const upload = await this.uploads.find(tenantId, uploadId);
    if (!upload) return 'not_found';
    if (upload.status !== 'PENDING') return 'already_received';
    if (put.declaredLength > upload.byteSize) return 'too_large';
    const blobKey = `${uploadPrefix(tenantId, uploadId)}/${randomBytes(8).toString('hex')}`;
    try {
      await this.blobs.putStream(blobKey, put.openBody(), upload.contentType, put.declaredLength);
    } catch (error) {
      if (error instanceof BlobStoreError && error.code === 'BLOB_LENGTH_MISMATCH') return 'incomplete';
      throw error;
    }
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
  async resolveImage(
    viewer: TenantViewer,
    input: ImageInput,
    field: string[],
  ): Promise<Outcome<{ image: NormalizedImage; uploadId: string | null }>> {
    const hasData = typeof input.dataUrl === 'string';
    const hasUpload = typeof input.uploadId === 'string';
    if (hasData === hasUpload) {
      return refuse(uploadError('INVALID_IMAGE_INPUT', 'give exactly one of dataUrl or uploadId', field));
    }
    let bytes: Buffer;
    let uploadId: string | null = null;
    if (hasData) {
      const decoded = decodeDataUrl(input.dataUrl!);
      if (!decoded.ok) return refuse(imageUserError(decoded, [...field, 'dataUrl']));
      bytes = decoded.bytes;
    } else {
      uploadId = fromGlobalId(input.uploadId!, 'Upload');
      const upload = uploadId ? await this.uploads.find(viewer.tenantId, uploadId) : null;
      const shopperMismatch = upload && viewer.kind === 'shopper' && upload.shopperId !== viewer.shopperId;
      if (!upload || shopperMismatch) return refuse(uploadError('NOT_FOUND', 'no upload with this id', [...field, 'uploadId']));
      if (upload.status === 'CONSUMED')
        return refuse(uploadError('UPLOAD_ALREADY_USED', 'this upload was already used', [...field, 'uploadId']));
      if (upload.status === 'RECEIVED' && upload.expiresAt.getTime() + UPLOAD_KEEP_MS <= Date.now()) {
        return refuse(
          uploadError('UPLOAD_EXPIRED', 'the upload was not used within an hour after its link expired', [...field, 'uploadId']),
        );
      }
      if (upload.status !== 'RECEIVED' || !upload.blobKey) {
        const expired = upload.expiresAt.getTime() <= Date.now();
        return refuse(
          uploadError(
            expired ? 'UPLOAD_EXPIRED' : 'UPLOAD_INCOMPLETE',
            expired ? 'the upload expired before its bytes arrived' : 'the bytes of this upload have not been PUT to its uploadUrl yet',
            [...field, 'uploadId'],
          ),
        );
      }
      const blob = await this.blobs.get(upload.blobKey);
      if (!blob) return refuse(uploadError('UPLOAD_INCOMPLETE', 'the bytes of this upload are missing', [...field, 'uploadId']));
      bytes = blob.data;
    }
    const normalized = await normalizeImage(bytes);
    if (!normalized.ok) return refuse(imageUserError(normalized, field));
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
      return refuse(uploadError('UPLOAD_ALREADY_USED', 'this upload was already used', [...field, 'uploadId']));
    }
    let outcome: Outcome<T>;
    try {
      outcome = await write();
    } catch (error) {
      await this.uploads.release(tenantId, uploadId);
      throw error;
    }
    if (outcome.ok) await this.blobs.deleteAllUnder(uploadPrefix(tenantId, uploadId));
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
      // Attempts whose marking never happened (the process stopped between the two) too.
      await this.blobs.deleteAllUnder(uploadPrefix(upload.tenantId, upload.id));
      await this.uploads.delete(upload.tenantId, upload.id);
    }
    return expired.length;
  }
}
