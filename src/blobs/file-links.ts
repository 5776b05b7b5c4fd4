// Absolute, signed, expiring URLs for stored images (Image.url). Expiry is rounded up to
// a 5-minute boundary so the same image keeps the same URL for a while (browser caching),
// and a URL made once is reused while its expiry stands: a catalog page signs 50 images.
import type { UrlSigner } from './signed-url';

const LIFETIME_MS = 60 * 60_000;
const ROUNDING_MS = 5 * 60_000;
/** URLs remembered (about 300 bytes each); all are dropped when full, or when the expiry moves on. */
const REMEMBERED = 10_000;

export class FileLinks {
  /** key -> URL, all for one expiry (rememberedUntil) and one public URL (rememberedBase). */
  private readonly remembered = new Map<string, string>();
  private rememberedUntil = 0;
  private rememberedBase = '';

  constructor(
    private readonly signer: UrlSigner,
    private readonly publicUrl: () => string,
  ) {}

  url(key: string, now = Date.now()): string {
    const expiresMs = Math.ceil((now + LIFETIME_MS) / ROUNDING_MS) * ROUNDING_MS;
    const base = this.publicUrl();
    if (expiresMs !== this.rememberedUntil || base !== this.rememberedBase || this.remembered.size >= REMEMBERED) {
      this.remembered.clear();
      this.rememberedUntil = expiresMs;
      this.rememberedBase = base;
    }
    let url = this.remembered.get(key);
    if (url === undefined) {
      url = `${base}${this.signer.sign(key, new Date(expiresMs))}`;
      this.remembered.set(key, url);
    }
    return url;
  }
}
