// The garment domain's refusal codes: a closed set, so a new one fails the type check until
// src/http/error-codes.ts maps it. Text, quota and image codes have their own sets.
import { userError, type UserError } from '../common/user-errors';

export const GARMENT_ERROR_CODES = ['SKU_TAKEN', 'NOT_FOUND', 'CACHE_NOT_FAILED'] as const;
export type GarmentErrorCode = (typeof GARMENT_ERROR_CODES)[number];

export function garmentError(code: GarmentErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}
