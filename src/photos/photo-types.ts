// The person photos domain's types: what repositories return, services pass on and resolvers
// receive as parents (codegen.ts "mappers"). A database row is assignable to them as it is.

export interface PersonPhoto {
  id: string;
  tenantId: string;
  shopperId: string | null;
  imageKey: string;
  imageWidth: number;
  imageHeight: number;
  imageContentType: string;
  /** The stored image's size (counted against the tenant's storage quota). */
  imageBytes: number;
  createdAt: Date;
}

export type PersonEncodingStatus = 'PENDING' | 'READY' | 'FAILED';

/** A photo's person encoding for one model version: the engine's precomputed person features. */
export interface PersonEncoding {
  id: string;
  tenantId: string;
  photoId: string;
  /** The model version the encoding was computed with. */
  model: string;
  status: PersonEncodingStatus;
  blobKey: string | null;
  bytes: number | null;
  computeMs: number | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}
