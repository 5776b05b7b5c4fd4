// Absolute, signed, expiring URLs for stored images (Image.url). Expiry is rounded up to
// a 5-minute boundary so the same image keeps the same URL for a while (browser caching).
import type { UrlSigner } from './signed-url';

const LIFETIME_MS = 60 * 60_000;
const ROUNDING_MS = 5 * 60_000;

export class FileLinks {
  constructor(
    private readonly signer: UrlSigner,
    private readonly publicUrl: () => string,
  ) {}

  url(key: string, now = Date.now()): string {
    const expires = new Date(Math.ceil((now + LIFETIME_MS) / ROUNDING_MS) * ROUNDING_MS);
    return `${this.publicUrl()}${this.signer.sign(key, expires)}`;
  }
}
