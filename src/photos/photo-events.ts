// Photo events over pub/sub, followed by workers for every tenant: a person photo being
// deleted, so workers drop its decoded encoding (and its image) from memory.
import { channelKind, jsonCodec, stringFields } from '../jobs/channels';

export interface PhotoDeleted {
  tenantId: string;
  photoId: string;
}

/** `photo-deleted:<tenantId>`; message: JSON { tenantId, photoId }. */
export const photoDeletedChannel = channelKind<[], PhotoDeleted>(
  'photo-deleted',
  jsonCodec((value) => stringFields(value, 'tenantId', 'photoId')),
);
