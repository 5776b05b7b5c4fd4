// Catalog events over pub/sub: the id of a garment whose reference cache changed state,
// published by the worker on the tenant's channel (referenceCacheChanged subscription).
export const catalogChannel = (tenantId: string) => `catalog:${tenantId}`;
