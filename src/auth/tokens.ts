// Token formats. API keys carry their tenant (so the key can be looked up under that
// tenant's row-level security) and a 256-bit secret; only sha256(key) is stored.
// Shopper session tokens are HMAC-signed, short-lived and need no database lookup.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const API_KEY = /^atk_([A-Za-z0-9_-]{8})([A-Za-z0-9_-]{22})([A-Za-z0-9_-]{43})$/;
const UUID_HEX = /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/;

function uuidToBase64url(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

function base64urlToUuid(text: string): string | null {
  const hex = Buffer.from(text, 'base64url').toString('hex');
  const m = UUID_HEX.exec(hex);
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}` : null;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface NewApiKey {
  secret: string;
  prefix: string;
  secretHash: string;
}

/** A new API key for `tenantId`: atk_<8 chars shown as prefix><tenant><secret>. */
export function generateApiKey(tenantId: string): NewApiKey {
  const visible = randomBytes(6).toString('base64url');
  const secret = `atk_${visible}${uuidToBase64url(tenantId)}${randomBytes(32).toString('base64url')}`;
  return { secret, prefix: `atk_${visible}`, secretHash: sha256Hex(secret) };
}

/** The tenant an API key claims (and its visible prefix), or null when the text is not an API key. */
export function parseApiKey(token: string): { tenantId: string; prefix: string; secretHash: string } | null {
  const m = API_KEY.exec(token);
  if (!m) return null;
  const tenantId = base64urlToUuid(m[2]!);
  return tenantId ? { tenantId, prefix: `atk_${m[1]}`, secretHash: sha256Hex(token) } : null;
}

/** Constant-time equality of two hex digests of the same length (false for different lengths). */
export function digestEqual(a: string, b: string): boolean {
  const da = Buffer.from(a, 'hex');
  const db = Buffer.from(b, 'hex');
  return da.length === db.length && da.length > 0 && timingSafeEqual(da, db);
}

/** Constant-time equality of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export interface SessionClaims {
  tenantId: string;
  shopperId: string;
  expiresAt: Date;
}

/**
 * Signs and checks shopper session tokens: ats_<payload>.<hmac>. Signs with the first
 * secret; any of the secrets verifies (rotation: prepend a new one, drop the old later).
 */
export class SessionTokens {
  constructor(private readonly secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('SessionTokens needs at least one secret');
  }

  private mac(secret: string, payload: string): Buffer {
    return createHmac('sha256', `session:${secret}`).update(payload).digest();
  }

  sign(claims: SessionClaims): string {
    const payload = Buffer.from(
      JSON.stringify({ t: claims.tenantId, s: claims.shopperId, e: Math.floor(claims.expiresAt.getTime() / 1000) }),
    ).toString('base64url');
    return `ats_${payload}.${this.mac(this.secrets[0]!, payload).toString('base64url')}`;
  }

  /** 'invalid' for anything not signed by us, 'expired' past its expiry. */
  verify(token: string, now = new Date()): SessionClaims | 'invalid' | 'expired' {
    const m = /^ats_([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return 'invalid';
    const payload = m[1]!;
    const given = Buffer.from(m[2]!, 'base64url');
    const valid = this.secrets.some((secret) => {
      const expected = this.mac(secret, payload);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!valid) return 'invalid';
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return 'invalid';
    }
    const p = parsed as { t?: unknown; s?: unknown; e?: unknown };
    if (typeof p.t !== 'string' || typeof p.s !== 'string' || typeof p.e !== 'number') return 'invalid';
    const expiresAt = new Date(p.e * 1000);
    if (expiresAt.getTime() <= now.getTime()) return 'expired';
    return { tenantId: p.t, shopperId: p.s, expiresAt };
  }
}
