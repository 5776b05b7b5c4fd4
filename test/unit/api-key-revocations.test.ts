// The revocation announcement: what travels over pub/sub, and how a process hears it (the
// cache forgets the key, listeners such as the graphql-ws transport are told; a malformed
// message is ignored rather than thrown inside the pub/sub driver).
import { apiKeyRevokedChannel, encodeApiKeyRevoked, parseApiKeyRevoked, type ApiKeyRevoked } from '../../src/auth/api-key-revocations';
import { Authenticator } from '../../src/auth/authenticator';
import { ApiKeyCache } from '../../src/auth/api-key-cache';
import { SessionTokens } from '../../src/auth/tokens';
import { InProcessPubSub } from '../../src/jobs/in-process-pubsub';
import type { TenantRepository } from '../../src/tenants/tenant-repository';

const event: ApiKeyRevoked = { tenantId: 't1', apiKeyId: 'k1', secretHash: 'ab'.repeat(32) };

describe('API key revocation announcements', () => {
  test('encoded and parsed back; anything else is not an event', () => {
    expect(parseApiKeyRevoked(encodeApiKeyRevoked(event))).toEqual(event);
    for (const message of [
      '',
      'not json',
      'null',
      '[]',
      '{"tenantId":"t1","secretHash":"ab"}',
      '{"tenantId":1,"apiKeyId":"k1","secretHash":"ab"}',
    ]) {
      expect(parseApiKeyRevoked(message)).toBeNull();
    }
  });

  test('a process hearing one forgets the key and tells its listeners; a malformed message is ignored', async () => {
    const pubsub = new InProcessPubSub();
    const cache = new ApiKeyCache({ ttlMs: 60_000 });
    cache.set(event.secretHash, { kind: 'apiKey', tenantId: 't1', apiKeyId: 'k1', scopes: ['ADMIN'] });
    // The repository is never reached: announcements touch only the cache and the listeners.
    const authenticator = new Authenticator({} as TenantRepository, new SessionTokens(['s'.repeat(32)]), undefined, cache);
    const heard: ApiKeyRevoked[] = [];
    const stopListening = authenticator.onApiKeyRevoked((e) => heard.push(e));
    const stopFollowing = await authenticator.followRevocations(pubsub);

    await pubsub.publish(apiKeyRevokedChannel('t1').name, '{ not json');
    expect(heard).toEqual([]);
    expect(cache.get(event.secretHash)).toBeDefined();

    await pubsub.publish(apiKeyRevokedChannel('t1').name, encodeApiKeyRevoked(event));
    expect(heard).toEqual([event]);
    expect(cache.get(event.secretHash)).toBeUndefined();

    stopListening();
    await pubsub.publish(apiKeyRevokedChannel('t1').name, encodeApiKeyRevoked(event));
    expect(heard).toHaveLength(1);
    await stopFollowing();
    await pubsub.close();
  });
});
