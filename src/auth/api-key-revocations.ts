// The announcement that an API key was revoked, as it travels over pub/sub: every API process
// forgets the key in its authentication cache and closes the graphql-ws connections that
// authenticated with it. One channel for all tenants (each process must hear every tenant's
// revocations, whichever keys it holds); each message names its tenant.
export const API_KEY_REVOKED_CHANNEL = 'auth:api-key-revoked';

export interface ApiKeyRevoked {
  tenantId: string;
  apiKeyId: string;
  /** sha256 of the key (what the cache is keyed by), never the key itself. */
  secretHash: string;
}

export function encodeApiKeyRevoked(event: ApiKeyRevoked): string {
  return JSON.stringify({ tenantId: event.tenantId, apiKeyId: event.apiKeyId, secretHash: event.secretHash });
}

/** The event, or null for a message that is not one (it is ignored). */
export function parseApiKeyRevoked(message: string): ApiKeyRevoked | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { tenantId, apiKeyId, secretHash } = parsed as Record<string, unknown>;
  if (typeof tenantId !== 'string' || typeof apiKeyId !== 'string' || typeof secretHash !== 'string') return null;
  return { tenantId, apiKeyId, secretHash };
}
