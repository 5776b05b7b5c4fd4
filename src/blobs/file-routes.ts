/**
 * HTTP adapter serving blobs behind signed URLs: GET <basePath>/*key?exp=&sig=.
 * The signature is checked before the store is touched, so unsigned requests
 * cost nothing and learn nothing about which blobs exist.
 */
import express from 'express';
import { BlobStoreError, type BlobStore } from './blob-store';
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
      if (check === 'expired') refuse(res, 403, 'LINK_EXPIRED', 'The link has expired; ask the API for a new one.');
      else refuse(res, 403, 'LINK_INVALID', 'The link is invalid.');
      return;
    }
    let blob;
    try {
      blob = await store.get(key);
    } catch (error) {
      // A signed but unusable key (tampered storage): as good as missing to the client.
      if (error instanceof BlobStoreError) blob = null;
      else throw error;
    }
    if (blob === null) {
      refuse(res, 404, 'NOT_FOUND', 'Not found.');
      return;
    }
    const secondsLeft = Math.floor(Number(exp) - at.getTime() / 1000);
    res.status(200).set({
      'Content-Type': blob.contentType,
      'Content-Length': String(blob.data.length),
      'Cache-Control': `private, max-age=${Math.max(0, Math.min(maxAgeSeconds, secondsLeft))}`,
      'X-Content-Type-Options': 'nosniff',
      // Blobs are data, never documents: opened directly, nothing in them may run.
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
    res.end(blob.data);
  });

  return router;
}

// Express 5 gives a wildcard parameter as its decoded path segments.
function routeKey(params: Record<string, unknown>): string | null {
  const value = params['key'];
  if (Array.isArray(value) && value.every((segment) => typeof segment === 'string')) return value.join('/');
  return typeof value === 'string' ? value : null;
}

/** Refusals are JSON, { error: { code, message } }, like every other HTTP error of the API. */
function refuse(res: express.Response, status: 403 | 404, code: 'LINK_INVALID' | 'LINK_EXPIRED' | 'NOT_FOUND', message: string): void {
  res.status(status).set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }).json({ error: { code, message } });
}
