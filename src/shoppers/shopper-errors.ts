// The shopper domain's refusal codes: a closed set, so a new one fails the type check until
// src/http/error-codes.ts maps it. externalId checks use the text codes of src/common/text.ts.
import { userError, type UserError } from '../common/user-errors';

export const SHOPPER_ERROR_CODES = ['EXTERNAL_ID_TAKEN', 'NOT_FOUND'] as const;
export type ShopperErrorCode = (typeof SHOPPER_ERROR_CODES)[number];

export function shopperError(code: ShopperErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}
