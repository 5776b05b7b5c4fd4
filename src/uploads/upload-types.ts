// The uploads domain's types: what its repository returns.

/** PENDING: issued, bytes not yet received; RECEIVED: bytes stored; CONSUMED: used by a garment or photo. */
export type UploadStatus = 'PENDING' | 'RECEIVED' | 'CONSUMED';

/** A staged upload: bytes sent ahead of the mutation that uses them. */
export interface Upload {
  id: string;
  tenantId: string;
  shopperId: string | null;
  contentType: string;
  byteSize: number;
  status: UploadStatus;
  blobKey: string | null;
  expiresAt: Date;
  createdAt: Date;
}
