// Opens the blob store a process is configured for: files under the data directory (the
// default), or an S3-compatible bucket, checked before the process serves anything so that a
// missing bucket or refused credentials stop start-up with one clear line.
import type { BlobStore } from './blob-store';
import { FileBlobStore } from './file-blob-store';
import { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store';

export type BlobStoreSettings = { kind: 'file'; root: string } | ({ kind: 's3' } & S3BlobStoreOptions);

export interface OpenedBlobStore {
  store: BlobStore;
  /** Releases the store's connections (S3); the store is not used after. */
  close(): void;
}

export async function openBlobStore(settings: BlobStoreSettings): Promise<OpenedBlobStore> {
  if (settings.kind === 'file') return { store: new FileBlobStore(settings.root), close: () => undefined };
  const store = new S3BlobStore(settings);
  try {
    await store.checkBucket();
  } catch (error) {
    store.close();
    throw error;
  }
  return { store, close: () => store.close() };
}
