/**
 * HTTP adapter serving blobs behind signed URLs: GET <basePath>/*key?exp=&sig=.
 * The signature is checked before the store is touched, so unsigned requests
 * cost nothing and learn nothing about which blobs exist. Bytes are streamed
 * from the store (a file, or an S3 object) to the client, never held whole.
 */
import { pipeline } from 'node:stream/promises';
import express from 'express';
import { BlobStoreError, type BlobReadStream, type BlobStore, type BlobStoreErrorCode } from './blob-store';
import type { UrlSigner } from './signed-url';

export interface FileRouterOptions {
  store: BlobStore;
  signer: UrlSigner;
  /**
   * Longest browser caching, in seconds. Default 300. The header never lets a
   * copy outlive the URL's own expiry.
   */
  maxAgeSeconds?: number;
  /** Clock, for tests. Default: the system clock. */
  now?: () => Date;
  /** Told of storage failures (answered 503) and of streams that broke half-way; default: nobody. */
  onStoreError?: (error: unknown, key: string) => void;
}

export function createFileRouter(options: FileRouterOptions): express.Router {
  const { store, signer } = options;
  const maxAgeSeconds = options.maxAgeSeconds ?? 300;
  const now = options.now ?? (() => new Date());
  const router = express.Router();

  router.get(`${signer.basePath}/*key`, async (req, res) => {
    const key = routeKey(req.params as Record<string, unknown>);
    const { exp, sig } = req.query;
    const at = now();
    const check = key === null || typeof exp !== 'string' || typeof sig !== 'string' ? 'invalid' : signer.verify(key, exp, sig, at);
    if (check !== 'ok' || key === null) {
      // Only a genuine signature can be 'expired': telling it apart says nothing about which blobs exist.
      if (check === 'expired') refuse(res, 'LINK_EXPIRED', 'The link has expired; ask the API for a new one.');
      else refuse(res, 'LINK_INVALID', 'The link is invalid.');
      return;
    }
    let blob: BlobReadStream | null;
    try {
      blob = await store.getStream(key);
    } catch (error) {
      if (!(error instanceof BlobStoreError)) throw error;
      // A signed but unusable key (tampered storage): as good as missing to the client.
      if (UNUSABLE_BLOB.has(error.code)) blob = null;
      else {
        // The storage is missing, refusing or down: the link itself is fine, so the client may retry.
        options.onStoreError?.(error, key);
        res.set('Retry-After', '5');
        refuse(res, 'SERVICE_UNAVAILABLE', 'The image storage is unavailable; try again shortly.');
        return;
      }
    }
    if (blob === null) {
      refuse(res, 'NOT_FOUND', 'Not found.');
      return;
    }
    const secondsLeft = Math.floor(Number(exp) - at.getTime() / 1000);
    res.status(200).set({
      'Content-Type': blob.contentType,
      'Content-Length': String(blob.byteLength),
      'Cache-Control': `private, max-age=${Math.max(0, Math.min(maxAgeSeconds, secondsLeft))}`,
      'X-Content-Type-Options': 'nosniff',
      // Blobs are data, never documents: opened directly, nothing in them may run.
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
    if (req.method === 'HEAD') {
      blob.body.destroy();
      res.end();
      return;
    }
    try {
      // Destroys both sides when either fails: a client that leaves releases the store's stream.
      await pipeline(blob.body, res);
    } catch (error) {
      // Headers are gone: the client sees a body shorter than its Content-Length.
      if (!isClientGone(error)) options.onStoreError?.(error, key);
    }
  });

  return router;
}

// Codes that mean "no usable blob under this key": anything else is the storage failing.
const UNUSABLE_BLOB: ReadonlySet<BlobStoreErrorCode> = new Set(['INVALID_BLOB_KEY', 'UNSAFE_BLOB_PATH', 'CORRUPT_BLOB']);

function isClientGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}

// Express 5 gives a wildcard parameter as its decoded path segments.
function routeKey(params: Record<string, unknown>): string | null {
  const value = params['key'];
  if (Array.isArray(value) && value.every((segment) => typeof segment === 'string')) return value.join('/');
  return typeof value === 'string' ? value : null;
}

/** The codes of file-link refusals: a closed set with its statuses (src/http/error-codes.ts maps them through this). */
export const FILE_ERROR_STATUS = { LINK_INVALID: 403, LINK_EXPIRED: 403, NOT_FOUND: 404, SERVICE_UNAVAILABLE: 503 } as const;
export type FileErrorCode = keyof typeof FILE_ERROR_STATUS;

/** Refusals are JSON, { error: { code, message } }, like every other HTTP error of the API. */
function refuse(res: express.Response, code: FileErrorCode, message: string): void {
  res
    .status(FILE_ERROR_STATUS[code])
    .set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
    .json({ error: { code, message } });
}
