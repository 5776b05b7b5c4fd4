// The catalog's types: what repositories return, services pass on and resolvers receive as
// parents (codegen.ts "mappers"). A database row is assignable to them as it is.

export type GarmentCategory = 'TOP' | 'BOTTOM' | 'DRESS' | 'SHOES' | 'BAG';

export interface Garment {
  id: string;
  tenantId: string;
  sku: string;
  name: string;
  category: GarmentCategory;
  imageKey: string;
  imageWidth: number;
  imageHeight: number;
  imageContentType: string;
  /** The stored image's size (counted against the tenant's storage quota). */
  imageBytes: number;
  archived: boolean;
  createdAt: Date;
}

export type ReferenceCacheStatus = 'PENDING' | 'READY' | 'FAILED';

/** A garment's reference cache for one model version: the engine's precomputed garment features. */
export interface ReferenceCache {
  id: string;
  tenantId: string;
  garmentId: string;
  /** The model version the cache was computed with. */
  model: string;
  status: ReferenceCacheStatus;
  blobKey: string | null;
  bytes: number | null;
  checksum: string | null;
  computeMs: number | null;
  error: string | null;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What the API shows of a garment's cache (the ReferenceCache type); PENDING when none exists yet. */
export interface ReferenceCacheState {
  status: ReferenceCacheStatus;
  model: string;
  bytes: number | null;
  computeMs: number | null;
  error: string | null;
  updatedAt: Date;
}
