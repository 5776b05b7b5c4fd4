// The webhook domain's refusal codes: a closed set, so a new one fails the type check until
// src/http/error-codes.ts maps it.
import { userError, type UserError } from '../common/user-errors';

export const WEBHOOK_ERROR_CODES = ['INVALID_URL', 'EVENTS_REQUIRED', 'TOO_MANY_ENDPOINTS', 'NOT_FOUND'] as const;
export type WebhookErrorCode = (typeof WEBHOOK_ERROR_CODES)[number];

export function webhookError(code: WebhookErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}
