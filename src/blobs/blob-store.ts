/**
 * Blob storage contract (uploaded photos, garment images, renders) and the key
 * rules every implementation shares, so a file store and an S3-compatible
 * store accept exactly the same keys.
 */

export interface StoredBlob {
  data: Buffer;
  contentType: string;
}

export interface BlobStore {
  /** Stores (or replaces) a blob. Readers see the old or the new blob, never a partial one. */
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** The blob, or null when there is none under that key. */
  get(key: string): Promise<StoredBlob | null>;
  /** Removes the blob; removing a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every blob whose key starts with `prefix/` (`prefix` is a valid key); none there is not an error. */
  deleteAllUnder(prefix: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

export type BlobStoreErrorCode = 'INVALID_BLOB_KEY' | 'INVALID_CONTENT_TYPE' | 'UNSAFE_BLOB_PATH' | 'CORRUPT_BLOB';

/** A programming or deployment fault (bad key, tampered storage): thrown, never returned to API users. */
export class BlobStoreError extends Error {
  constructor(
    readonly code: BlobStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BlobStoreError';
  }
}

export const MAX_BLOB_KEY_LENGTH = 200;

// Slash-separated segments of lower-case letters, digits, '_' and '-', each
// starting with a letter or digit: no dots at all (so no '..'), no leading,
// trailing or doubled slashes, nothing a file system or URL treats specially.
const BLOB_KEY = /^[a-z0-9][a-z0-9_-]*(?:\/[a-z0-9][a-z0-9_-]*)*$/;

export function isValidBlobKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= MAX_BLOB_KEY_LENGTH && BLOB_KEY.test(key);
}

export function assertValidBlobKey(key: unknown): asserts key is string {
  if (!isValidBlobKey(key)) {
    const shown = typeof key === 'string' ? JSON.stringify(key.slice(0, 80)) : typeof key;
    throw new BlobStoreError(
      'INVALID_BLOB_KEY',
      `Invalid blob key ${shown}: expected up to ${MAX_BLOB_KEY_LENGTH} characters of ` +
        `slash-separated segments of [a-z0-9_-], each starting with a letter or digit.`,
    );
  }
}

// type/subtype with optional parameters, printable ASCII only: it becomes an HTTP header.
const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(?:\s*;\s*[a-z0-9!#$&^_.+-]+=(?:[a-z0-9!#$&^_.+-]+|"[^"\\\x00-\x1f\x7f]*"))*$/i;

export function assertValidContentType(contentType: unknown): asserts contentType is string {
  if (typeof contentType !== 'string' || contentType.length > 200 || !CONTENT_TYPE.test(contentType)) {
    throw new BlobStoreError('INVALID_CONTENT_TYPE', 'Invalid content type: expected a MIME type such as "image/png".');
  }
}
