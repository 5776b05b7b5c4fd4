// Storage quotas: what a tenant may store (the bytes of its garment images, person photos and
// staged uploads not yet used) and how many person photos one shopper may hold (its staged
// uploads not yet used count too, since each may become one). Checked inside the transaction
// that adds the row, after locking the tenant's row, so two writes at once cannot both slip
// under a limit; the repositories that add images call checkQuotas.
import type { Tx } from '../db/database';
import { userError, type UserError } from './user-errors';

export interface Quotas {
  /** Bytes a tenant may store; null: no limit. */
  tenantStorageBytes: number | null;
  /** Person photos (with unused staged uploads) one shopper may hold; null: no limit. */
  shopperPhotos: number | null;
}

export const NO_QUOTAS: Quotas = { tenantStorageBytes: null, shopperPhotos: null };

export type QuotaRefusal = { kind: 'storage'; usedBytes: number; quotaBytes: number } | { kind: 'photos'; held: number; quota: number };

/** What a write adds: `bytes` of storage and, with a shopper, one photo or upload of that shopper. */
export interface QuotaAddition {
  bytes: number;
  shopperId: string | null;
}

/** Null when the addition fits; otherwise which quota it would exceed. Locks the tenant's row until the transaction ends. */
export async function checkQuotas(tx: Tx, tenantId: string, add: QuotaAddition, quotas: Quotas): Promise<QuotaRefusal | null> {
  if (quotas.tenantStorageBytes === null && (add.shopperId === null || quotas.shopperPhotos === null)) return null;
  // Two statements: the sums must be read after the lock is held (a statement's snapshot is
  // taken when it starts, so sums read with the lock would miss a write that held it before).
  await tx.$queryRaw`SELECT 1 FROM tenants WHERE id = ${tenantId}::uuid FOR UPDATE`;
  const [usage] = await tx.$queryRaw<{ used: bigint | number | null; held: bigint | number | null }[]>`
    SELECT
      (SELECT COALESCE(SUM(image_bytes), 0) FROM garments WHERE tenant_id = ${tenantId}::uuid)
        + (SELECT COALESCE(SUM(image_bytes), 0) FROM person_photos WHERE tenant_id = ${tenantId}::uuid)
        + (SELECT COALESCE(SUM(byte_size), 0) FROM uploads WHERE tenant_id = ${tenantId}::uuid AND status IN ('PENDING', 'RECEIVED')) AS used,
      (SELECT count(*) FROM person_photos WHERE tenant_id = ${tenantId}::uuid AND shopper_id = ${add.shopperId}::uuid)
        + (SELECT count(*) FROM uploads WHERE tenant_id = ${tenantId}::uuid AND shopper_id = ${add.shopperId}::uuid AND status IN ('PENDING', 'RECEIVED')) AS held`;
  const used = Number(usage?.used ?? 0);
  const held = Number(usage?.held ?? 0);
  if (quotas.tenantStorageBytes !== null && used + add.bytes > quotas.tenantStorageBytes) {
    return { kind: 'storage', usedBytes: used, quotaBytes: quotas.tenantStorageBytes };
  }
  if (add.shopperId !== null && quotas.shopperPhotos !== null && held + 1 > quotas.shopperPhotos) {
    return { kind: 'photos', held, quota: quotas.shopperPhotos };
  }
  return null;
}

/** The codes of quota refusals: a closed set, mapped in src/http/error-codes.ts. */
export const QUOTA_ERROR_CODES = ['STORAGE_QUOTA_EXCEEDED', 'PHOTO_QUOTA_EXCEEDED'] as const;
export type QuotaErrorCode = (typeof QUOTA_ERROR_CODES)[number];

const quotaUserError = (code: QuotaErrorCode, message: string, field?: string[]): UserError => userError(code, message, field);

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The userError of a refusal (STORAGE_QUOTA_EXCEEDED, PHOTO_QUOTA_EXCEEDED). */
export function quotaError(refusal: QuotaRefusal, field?: string[]): UserError {
  return refusal.kind === 'storage'
    ? quotaUserError(
        'STORAGE_QUOTA_EXCEEDED',
        `this tenant stores ${megabytes(refusal.usedBytes)} of its ${megabytes(refusal.quotaBytes)} storage quota; this image does not fit`,
        field,
      )
    : quotaUserError(
        'PHOTO_QUOTA_EXCEEDED',
        `this shopper already holds ${refusal.held} of its ${refusal.quota} person photos (staged uploads not yet used count too); delete one with deletePersonPhoto`,
        field,
      );
}
