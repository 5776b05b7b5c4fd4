// The upload domain's codes, closed sets (a new one fails the type check until
// src/http/error-codes.ts maps it): refusals of createUpload and of an ImageInput (userErrors;
// image codes have their own set), and the refusals of the HTTP PUT of an upload's bytes.
import { userError, type UserError } from '../common/user-errors';

export const UPLOAD_ERROR_CODES = [
  'UNSUPPORTED_IMAGE_FORMAT',
  'OUT_OF_RANGE',
  'IMAGE_TOO_LARGE',
  'INVALID_IMAGE_INPUT',
  'NOT_FOUND',
  'UPLOAD_ALREADY_USED',
  'UPLOAD_EXPIRED',
  'UPLOAD_INCOMPLETE',
] as const;
export type UploadErrorCode = (typeof UPLOAD_ERROR_CODES)[number];

export function uploadError(code: UploadErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}

/** Codes of PUT /uploads/...: the refusals of receive() and a blob store that is down. */
export const UPLOAD_PUT_ERROR_CODES = [
  'LINK_INVALID',
  'LINK_EXPIRED',
  'NOT_FOUND',
  'LENGTH_REQUIRED',
  'PAYLOAD_TOO_LARGE',
  'UPLOAD_ALREADY_RECEIVED',
  'UPLOAD_INCOMPLETE',
  'SERVICE_UNAVAILABLE',
] as const;
export type UploadPutErrorCode = (typeof UPLOAD_PUT_ERROR_CODES)[number];

/** Why receive() refused a PUT (also the upload metrics' status label). */
export type UploadPutRefusal = 'forbidden' | 'expired' | 'not_found' | 'length_required' | 'too_large' | 'already_received' | 'incomplete';

/** What the client is told for each refusal of receive(). */
export const UPLOAD_PUT_REFUSALS: Record<UploadPutRefusal, { code: UploadPutErrorCode; message: string }> = {
  forbidden: { code: 'LINK_INVALID', message: 'the upload link is invalid' },
  expired: { code: 'LINK_EXPIRED', message: 'the upload link has expired; create another upload' },
  not_found: { code: 'NOT_FOUND', message: 'no such upload' },
  length_required: { code: 'LENGTH_REQUIRED', message: 'send the body with a Content-Length (not chunked)' },
  too_large: { code: 'PAYLOAD_TOO_LARGE', message: 'the body is larger than the byteSize given to createUpload' },
  already_received: { code: 'UPLOAD_ALREADY_RECEIVED', message: 'this upload already has its bytes' },
  incomplete: { code: 'UPLOAD_INCOMPLETE', message: 'the body ended before its Content-Length; nothing was stored' },
};
