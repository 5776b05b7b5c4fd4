/**
 * Blob storage contract (uploaded photos, garment images, renders) and the key
 * rules every implementation shares, so a file store and an S3-compatible
 * store accept exactly the same keys and fail with the same codes.
 */
import { Transform, type Readable } from 'node:stream';

export interface StoredBlob {
  data: Buffer;
  contentType: string;
}

/** A blob being read: its bytes arrive on `body`, which the caller must read to the end or destroy. */
export interface BlobReadStream {
  body: Readable;
  contentType: string;
  byteLength: number;
}

export interface BlobStore {
  /** Stores (or replaces) a blob of at most maxBlobBytes. Readers see the old or the new blob, never a partial one. */
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /**
   * Stores (or replaces) a blob of exactly `byteLength` bytes read from `body`, without holding
   * it in memory (an upload's request body). It is published only once every byte arrived: if
   * `body` fails, ends short or has more (BLOB_LENGTH_MISMATCH, read no further), or the
   * storage fails, nothing is stored, the previous blob stays, and `body` is destroyed. A key,
   * type or length refused before reading (INVALID_*, BLOB_TOO_LARGE) leaves `body` unread.
   */
  putStream(key: string, body: Readable, contentType: string, byteLength: number): Promise<void>;
  /** The blob, or null when there is none under that key. A blob over maxBlobBytes is refused (BLOB_TOO_LARGE), never buffered. */
  get(key: string): Promise<StoredBlob | null>;
  /**
   * The blob as a stream (for serving it without holding it in memory), or null when there
   * is none. The bytes are those of one version, even if the blob is replaced meanwhile; a
   * failure half-way destroys `body` with an error.
   */
  getStream(key: string): Promise<BlobReadStream | null>;
  /** Removes the blob; removing a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every blob whose key starts with `prefix/` (`prefix` is a valid key); none there is not an error. */
  deleteAllUnder(prefix: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

export type BlobStoreErrorCode =
  | 'INVALID_BLOB_KEY'
  | 'INVALID_CONTENT_TYPE'
  | 'UNSAFE_BLOB_PATH'
  | 'CORRUPT_BLOB'
  /** Over the store's maxBlobBytes: refused by put, and by get rather than buffered. */
  | 'BLOB_TOO_LARGE'
  /** putStream's body ended before its byteLength, or went on after it. */
  | 'BLOB_LENGTH_MISMATCH'
  /** The configured bucket does not exist. */
  | 'BUCKET_NOT_FOUND'
  /** The storage refused the credentials or the operation (no credentials, wrong key, a policy). */
  | 'STORE_ACCESS_DENIED'
  /** The storage did not answer, or failed, after the client's retries. */
  | 'STORE_UNAVAILABLE';

/**
 * A programming or deployment fault (bad key, tampered storage, a bucket missing or refusing):
 * thrown, never returned to API users. The message says what to check.
 */
export class BlobStoreError extends Error {
  constructor(
    readonly code: BlobStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BlobStoreError';
  }
}

export const MAX_BLOB_KEY_LENGTH = 200;

/**
 * Default largest blob, in bytes (256 MiB): far above any image (10 MB) or reference cache,
 * and a bound on what one get() may buffer when something else wrote the storage.
 */
export const DEFAULT_MAX_BLOB_BYTES = 256 * 1024 * 1024;

export function assertBlobSize(key: string, byteLength: number, maxBlobBytes: number): void {
  if (byteLength > maxBlobBytes) {
    throw new BlobStoreError(
      'BLOB_TOO_LARGE',
      `Blob ${JSON.stringify(key)} is ${byteLength} bytes; the store holds at most ${maxBlobBytes}.`,
    );
  }
}

/** A putStream length: a whole number of bytes, at most maxBlobBytes. */
export function assertBlobLength(key: string, byteLength: number, maxBlobBytes: number): void {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) throw new RangeError('A blob length must be a whole number of bytes.');
  assertBlobSize(key, byteLength, maxBlobBytes);
}

/**
 * Passes `byteLength` bytes through and fails (BLOB_LENGTH_MISMATCH) as soon as one more
 * arrives, or at the end when fewer did: what every putStream writes goes through one. The
 * chunk that completes the length is held back until the body ends, so a store that publishes
 * once it has all the declared bytes (S3) never gets them from a body that is too long.
 */
export function exactLength(key: string, byteLength: number): Transform {
  let seen = 0;
  let last: Buffer | null = null;
  const mismatch = (detail: string) =>
    new BlobStoreError('BLOB_LENGTH_MISMATCH', `Blob ${JSON.stringify(key)} ${detail} (${byteLength} bytes were declared).`);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > byteLength) callback(mismatch('has more bytes than declared'));
      else if (seen === byteLength) {
        last = chunk;
        callback();
      } else callback(null, chunk);
    },
    flush(callback) {
      if (seen !== byteLength) callback(mismatch(`ended after ${seen} bytes`));
      else callback(null, last);
    },
  });
}

/** Blobs are Buffers; anything else is a programming error. */
export function assertBlobData(data: unknown): asserts data is Buffer {
  if (!Buffer.isBuffer(data)) throw new TypeError('Blob data must be a Buffer.');
}

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
const CONTENT_TYPE =
  /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(?:\s*;\s*[a-z0-9!#$&^_.+-]+=(?:[a-z0-9!#$&^_.+-]+|"[^"\\\x00-\x1f\x7f]*"))*$/i;

export function assertValidContentType(contentType: unknown): asserts contentType is string {
  if (typeof contentType !== 'string' || contentType.length > 200 || !CONTENT_TYPE.test(contentType)) {
    throw new BlobStoreError('INVALID_CONTENT_TYPE', 'Invalid content type: expected a MIME type such as "image/png".');
  }
}
