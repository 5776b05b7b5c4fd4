// The announcement that an API key was revoked, as it travels over pub/sub: every API process
// forgets the key in its authentication cache and closes the graphql-ws connections that
// authenticated with it. Published on the key's tenant's channel; each process follows every
// tenant's (whichever keys it holds).
import { channelKind, type Codec } from '../jobs/channels';

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

const codec: Codec<ApiKeyRevoked> = { encode: encodeApiKeyRevoked, parse: parseApiKeyRevoked };

/** `api-key-revoked:<tenantId>`. */
export const apiKeyRevokedChannel = channelKind<[], ApiKeyRevoked>('api-key-revoked', codec);
