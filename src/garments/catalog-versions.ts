// A per-tenant counter of catalog changes, as this process knows them: the GraphQL response
// cache keys catalog reads by it, so a cached garments page is never served after a garment or
// reference cache of its tenant changed. Every committed write bumps the counter here and
// announces itself over pub/sub, so other API processes bump theirs too (a lost announcement is
// bounded by the cache's max age).
import type { PubSub } from '../jobs/pubsub';
import { channelKind, jsonCodec, publish, stringFields, subscribeEveryTenant } from '../jobs/channels';
import type { Logger } from '../observability/logger';

/** `catalog-changed:<tenantId>`, followed by every API process for every tenant; message: JSON { tenantId }. */
export const catalogChangedChannel = channelKind<[], { tenantId: string }>(
  'catalog-changed',
  jsonCodec((value) => stringFields(value, 'tenantId')),
);

export class CatalogVersions {
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly logger: Logger,
  ) {}

  version(tenantId: string): number {
    return this.versions.get(tenantId) ?? 0;
  }

  /** Call after the write committed, never inside its transaction: a read that starts later must see it. */
  changed(tenantId: string): void {
    this.bump(tenantId);
    publish(this.pubsub, catalogChangedChannel(tenantId), { tenantId }).catch((error: unknown) =>
      this.logger.warn({ err: error, tenantId }, 'could not announce a catalog change'),
    );
  }

  /** Follows other processes' changes; resolves once listening, with the function that stops it. */
  follow(): Promise<() => Promise<void>> {
    return subscribeEveryTenant(this.pubsub, catalogChangedChannel, ({ tenantId }) => this.bump(tenantId));
  }

  private bump(tenantId: string): void {
    this.versions.set(tenantId, this.version(tenantId) + 1);
  }
}
