// Catalog events over pub/sub. On the tenant's catalog channel: the id of a garment whose
// reference cache changed state, published by the worker (referenceCacheChanged subscription).
// On the tenant's garment-archived channel, followed by workers for every tenant: an archived
// garment, whose decoded reference cache they drop from memory.
import { channelKind, jsonCodec, stringFields, textCodec } from '../jobs/channels';

/** `catalog:<tenantId>`; message: the garment's id. */
export const catalogChannel = channelKind<[], string>('catalog', textCodec);

export interface GarmentArchived {
  tenantId: string;
  garmentId: string;
}

/** `garment-archived:<tenantId>`; message: JSON { tenantId, garmentId }. */
export const garmentArchivedChannel = channelKind<[], GarmentArchived>(
  'garment-archived',
  jsonCodec((value) => stringFields(value, 'tenantId', 'garmentId')),
);
