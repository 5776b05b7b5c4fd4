// The outfit domain's refusal codes: a closed set, so a new one fails the type check until
// src/http/error-codes.ts maps it. Name checks use the text codes of src/common/text.ts.
import { userError, type UserError } from '../common/user-errors';

export const OUTFIT_ERROR_CODES = [
  'OUTFIT_EMPTY',
  'TOO_MANY_GARMENTS',
  'DUPLICATE_CATEGORY',
  'DRESS_CONFLICT',
  'GARMENT_NOT_FOUND',
  'GARMENT_ARCHIVED',
  'DUPLICATE_GARMENT',
  'NOT_FOUND',
] as const;
export type OutfitErrorCode = (typeof OUTFIT_ERROR_CODES)[number];

export function outfitError(code: OutfitErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}
