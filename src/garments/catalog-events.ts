// Catalog events over pub/sub: the id of a garment whose reference cache changed state,
// published by the worker on the tenant's channel (referenceCacheChanged subscription).
export const catalogChannel = (tenantId: string) => `catalog:${tenantId}`;

/**
 * Garments archived, for every tenant: workers drop the garment's decoded reference cache from
 * memory. Message: JSON { tenantId, garmentId }.
 */
export const GARMENT_ARCHIVED_CHANNEL = 'catalog:garment-archived';

export const garmentArchivedMessage = (tenantId: string, garmentId: string): string => JSON.stringify({ tenantId, garmentId });

export function parseGarmentArchived(message: string): { tenantId: string; garmentId: string } | null {
  try {
    const parsed = JSON.parse(message) as { tenantId?: unknown; garmentId?: unknown };
    return typeof parsed.tenantId === 'string' && typeof parsed.garmentId === 'string'
      ? { tenantId: parsed.tenantId, garmentId: parsed.garmentId }
      : null;
  } catch {
    return null;
  }
}
