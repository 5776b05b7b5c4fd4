// The person-photo domain's refusal codes: a closed set, so a new one fails the type check
// until src/http/error-codes.ts maps it. Image and quota codes have their own sets.
import { userError, type UserError } from '../common/user-errors';

export const PHOTO_ERROR_CODES = ['NOT_FOUND'] as const;
export type PhotoErrorCode = (typeof PHOTO_ERROR_CODES)[number];

export function photoError(code: PhotoErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}
