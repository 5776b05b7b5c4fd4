// The tenant domain's refusal codes (tenants and API keys): a closed set, so a new one fails
// the type check until src/http/error-codes.ts maps it. Quota codes are in quotas.ts.
import { userError, type UserError } from '../common/user-errors';

export const TENANT_ERROR_CODES = ['OUT_OF_RANGE', 'SCOPES_REQUIRED', 'INVALID_SCOPE', 'NOT_FOUND'] as const;
export type TenantErrorCode = (typeof TENANT_ERROR_CODES)[number];

export function tenantError(code: TenantErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}
