// Photo events over pub/sub for every tenant: a person photo being deleted, so workers drop its
// decoded encoding from memory. Message: JSON { tenantId, photoId }.
export const PHOTO_DELETED_CHANNEL = 'photos:deleted';

export const photoDeletedMessage = (tenantId: string, photoId: string): string => JSON.stringify({ tenantId, photoId });

export function parsePhotoDeleted(message: string): { tenantId: string; photoId: string } | null {
  try {
    const parsed = JSON.parse(message) as { tenantId?: unknown; photoId?: unknown };
    return typeof parsed.tenantId === 'string' && typeof parsed.photoId === 'string'
      ? { tenantId: parsed.tenantId, photoId: parsed.photoId }
      : null;
  } catch {
    return null;
  }
}
