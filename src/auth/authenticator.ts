// Turns the bearer token of a request or graphql-ws connection into a Viewer.
import type { ApiKeyLookup } from '../tenants/api-key-lookup';
import type { PubSub } from '../jobs/pubsub';
import { ApiKeyCache } from './api-key-cache';
import { digestEqual, parseApiKey, safeEqual, type SessionTokens } from './tokens';
import { AuthError, type Viewer } from './viewer';
import { apiKeyRevokedChannel, type ApiKeyRevoked } from './api-key-revocations';
import { subscribeEveryTenant } from '../jobs/channels';

const TOUCH_INTERVAL_MS = 60_000;

export type ApiKeyRevokedListener = (event: ApiKeyRevoked) => void;

export class Authenticator {
  constructor(
    private readonly tenants: ApiKeyLookup,
    private readonly sessions: SessionTokens,
    private readonly operatorToken: string | undefined,
    private readonly apiKeys: ApiKeyCache = new ApiKeyCache(),
  ) {}

  private readonly revokedListeners = new Set<ApiKeyRevokedListener>();

  /**
   * A key was revoked (here, or in another process that announced it): it is forgotten at once
   * and every listener (the graphql-ws transport, which closes the key's connections) is told.
   * Hearing of one revocation twice is harmless.
   */
  apiKeyRevoked(event: ApiKeyRevoked): void {
    this.apiKeys.forget(event.secretHash);
    for (const listener of [...this.revokedListeners]) listener(event);
  }

  /** Told of every revocation this process hears of; returns the function that stops it. */
  onApiKeyRevoked(listener: ApiKeyRevokedListener): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Hears the keys revoked by any process; resolves once listening. */
  async followRevocations(pubsub: PubSub): Promise<() => Promise<void>> {
    return subscribeEveryTenant(pubsub, apiKeyRevokedChannel, (event) => this.apiKeyRevoked(event));
  }

  /** `authorization` is the header value ("Bearer <token>") or the bare token; absent means anonymous. */
  async authenticate(authorization: string | undefined | null): Promise<Viewer> {
    if (authorization === undefined || authorization === null || authorization === '') return { kind: 'anonymous' };
    const m = /^(?:Bearer\s+)?(\S+)$/i.exec(authorization.trim());
    if (!m) throw new AuthError('UNAUTHENTICATED', 'malformed Authorization header: expected "Bearer <token>"');
    const token = m[1]!;
    if (token.startsWith('ats_')) {
      const claims = this.sessions.verify(token);
      if (claims === 'expired') throw new AuthError('UNAUTHENTICATED', 'the shopper session has expired');
      if (claims === 'invalid') throw new AuthError('UNAUTHENTICATED', 'invalid token');
      return { kind: 'shopper', ...claims };
    }
    const apiKey = parseApiKey(token);
    if (apiKey) {
      // Remembered keys are found by their hash (which reveals nothing of the secret).
      const cached = this.apiKeys.get(apiKey.secretHash);
      if (cached && cached.tenantId === apiKey.tenantId) return cached;
      // Looked up by its visible prefix, then the hash compared here in constant time (not by
      // the database's index, whose comparison time depends on the bytes that match).
      const candidates = await this.tenants.findActiveKeysByPrefix(apiKey.tenantId, apiKey.prefix);
      let key: (typeof candidates)[number] | undefined;
      for (const candidate of candidates) if (digestEqual(candidate.secretHash, apiKey.secretHash)) key = candidate;
      if (!key) throw new AuthError('UNAUTHENTICATED', 'invalid or revoked API key');
      const now = new Date();
      if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
        // Best effort: a failed bookkeeping write must not fail the request.
        this.tenants.touchKey(key.tenantId, key.id, now).catch(() => undefined);
      }
      const viewer = { kind: 'apiKey' as const, tenantId: key.tenantId, apiKeyId: key.id, scopes: key.scopes };
      this.apiKeys.set(apiKey.secretHash, viewer);
      return viewer;
    }
    if (this.operatorToken && safeEqual(token, this.operatorToken)) return { kind: 'operator' };
    throw new AuthError('UNAUTHENTICATED', 'invalid token');
  }
}
