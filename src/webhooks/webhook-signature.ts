// Webhook signing: the per-endpoint secret (derived, never stored), the
// `Atelier-Signature` header we send, and the check a receiver runs on it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Atelier-Signature';

/** Derives each endpoint's signing secret from the server's secrets, so none is stored. */
export class WebhookSecrets {
  /** `serverSecrets`: newest first; only the first derives secrets (rotating it changes every endpoint's secret). */
  constructor(private readonly serverSecrets: readonly string[]) {
    if (serverSecrets.length === 0 || serverSecrets.some((s) => s.length === 0)) {
      throw new Error('WebhookSecrets needs at least one non-empty server secret');
    }
  }

  /** `whsec_` + base64url(HMAC-SHA256(serverSecret, "webhook:<endpointId>")). */
  secretFor(endpointId: string): string {
    const digest = createHmac('sha256', this.serverSecrets[0]!).update(`webhook:${endpointId}`).digest('base64url');
    return `whsec_${digest}`;
  }
}

function hmacHex(secret: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for `body` sent at `timestamp` (unix seconds): `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function signWebhookPayload(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

/**
 * True when `header` (the Atelier-Signature value) signs `body` (the raw request body, as
 * received) with `secret`, and its timestamp is within `toleranceSeconds` of `now`, which
 * bounds replays. Compares in constant time; any malformed header is simply false.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  toleranceSeconds = 300,
  now: Date = new Date(),
): boolean {
  if (typeof header !== 'string' || header.length > 1000) return false;
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    // Several v1 entries may appear (e.g. while a secret is rotated): any one may match.
    if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === null || signatures.length === 0) return false;
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  return signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
}
