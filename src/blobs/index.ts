/** Blob storage: the store contract, the file and S3 stores, signed URLs and their HTTP route. */
export {
  BlobStoreError,
  DEFAULT_MAX_BLOB_BYTES,
  MAX_BLOB_KEY_LENGTH,
  assertValidBlobKey,
  isValidBlobKey,
  type BlobReadStream,
  type BlobStore,
  type BlobStoreErrorCode,
  type StoredBlob,
} from './blob-store';
export { FileBlobStore, type FileBlobStoreOptions } from './file-blob-store';
export { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store';
export { isValidS3Bucket, isValidS3Prefix } from './s3-names';
export { openBlobStore, type BlobStoreSettings, type OpenedBlobStore } from './open-blob-store';
export { UrlSigner, MIN_SECRET_BYTES, type SignatureCheck, type UrlSignerOptions } from './signed-url';
export { createFileRouter, FILE_ERROR_STATUS, type FileErrorCode, type FileRouterOptions } from './file-routes';
