/**
 * Signed, expiring URLs for blobs, so photos and renders can be shown in an
 * <img> without a bearer token. The signature is
 * base64url(HMAC-SHA256(secret, key + "\n" + exp)) with exp in Unix seconds.
 * Several secrets allow rotation: sign with the first, accept any.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isValidBlobKey, assertValidBlobKey } from './blob-store';

export type SignatureCheck = 'ok' | 'expired' | 'invalid';

export interface UrlSignerOptions {
  /**
   * HMAC secrets, newest first: URLs are signed with the first and accepted
   * with any. Each must be at least 32 bytes; otherwise the constructor throws.
   */
  secrets: ReadonlyArray<string | Buffer>;
  /** Path the file router serves, without a trailing slash. Default '/files'. */
  basePath?: string;
}

export const MIN_SECRET_BYTES = 32;
const SIGNATURE_BYTES = 32;
// 32 bytes in unpadded base64url: exactly 43 characters, the last one carrying 2 spare bits.
const SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
// Unix seconds, canonical decimal (no sign, no leading zeros), below year 5138.
const EXPIRY = /^(?:0|[1-9][0-9]{0,10})$/;

export class UrlSigner {
  readonly basePath: string;
  private readonly secrets: readonly Buffer[];

  constructor(options: UrlSignerOptions) {
    if (options.secrets.length === 0) throw new Error('UrlSigner needs at least one secret.');
    this.secrets = options.secrets.map((secret, index) => {
      const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
      if (bytes.length < MIN_SECRET_BYTES) {
        throw new Error(`UrlSigner secret #${index} is ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} are required.`);
      }
      return bytes;
    });
    this.basePath = options.basePath ?? '/files';
    if (!/^(?:\/[A-Za-z0-9_-]+)+$/.test(this.basePath)) {
      throw new Error(`UrlSigner basePath ${JSON.stringify(this.basePath)} must look like "/files".`);
    }
  }

  /** The path (with query) that serves `key` until `expiresAt` (rounded down to the second). Throws on an invalid key or date. */
  sign(key: string, expiresAt: Date): string {
    assertValidBlobKey(key);
    const time = expiresAt instanceof Date ? expiresAt.getTime() : Number.NaN;
    if (!Number.isFinite(time) || time < 0) throw new RangeError('UrlSigner.sign needs a valid, non-negative expiry date.');
    const exp = String(Math.floor(time / 1000));
    const [current] = this.secrets;
    if (current === undefined) throw new Error('unreachable: the constructor requires a secret');
    return `${this.basePath}/${key}?exp=${exp}&sig=${mac(current, key, exp).toString('base64url')}`;
  }

  /**
   * Checks a signature in constant time. 'expired' only for a genuine signature
   * whose time has passed (at exp itself the URL is expired); anything else
   * malformed or forged is 'invalid'.
   */
  verify(key: string, exp: string | number, sig: string, now: Date = new Date()): SignatureCheck {
    const expText = typeof exp === 'number' ? (Number.isSafeInteger(exp) ? String(exp) : '') : exp;
    if (!isValidBlobKey(key) || typeof expText !== 'string' || !EXPIRY.test(expText)) return 'invalid';
    if (typeof sig !== 'string' || !SIGNATURE.test(sig)) return 'invalid';
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== SIGNATURE_BYTES) return 'invalid';
    // Try every secret even after a match, so timing does not tell which one signed.
    let genuine = false;
    for (const secret of this.secrets) {
      genuine = timingSafeEqual(mac(secret, key, expText), given) || genuine;
    }
    if (!genuine) return 'invalid';
    return now.getTime() >= Number(expText) * 1000 ? 'expired' : 'ok';
  }
}

function mac(secret: Buffer, key: string, exp: string): Buffer {
  return createHmac('sha256', secret).update(`${key}\n${exp}`, 'utf8').digest();
}
