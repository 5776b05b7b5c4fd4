/** Blob storage: the store contract, the file store, signed URLs and their HTTP route. */
export {
  BlobStoreError,
  MAX_BLOB_KEY_LENGTH,
  assertValidBlobKey,
  isValidBlobKey,
  type BlobStore,
  type BlobStoreErrorCode,
  type StoredBlob,
} from './blob-store';
export { FileBlobStore } from './file-blob-store';
export { UrlSigner, MIN_SECRET_BYTES, type SignatureCheck, type UrlSignerOptions } from './signed-url';
export { createFileRouter, type FileRouterOptions } from './file-routes';
