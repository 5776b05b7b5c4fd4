// The render domain's codes, closed sets (a new one fails the type check until
// src/http/error-codes.ts maps it): refusals of requests and cancels (userErrors), and why a
// render failed (Render.error.code).
import { userError, type UserError } from '../common/user-errors';
import { INFERENCE_ERROR_CODES, type InferenceErrorCode } from '../inference';

export const RENDER_ERROR_CODES = ['OUT_OF_RANGE', 'NOT_FOUND', 'SHOPPER_MISMATCH', 'CONCURRENCY_LIMIT', 'RENDER_FINISHED'] as const;
export type RenderErrorCode = (typeof RENDER_ERROR_CODES)[number];

export function renderError(code: RenderErrorCode, message: string, field?: string[]): UserError {
  return userError(code, message, field);
}

/** Why a render failed: the engine's code, or WORKER_LOST when its worker stopped answering. */
export const RENDER_FAILURE_CODES = [...INFERENCE_ERROR_CODES, 'WORKER_LOST'] as const;
export type RenderFailureCode = InferenceErrorCode | 'WORKER_LOST';
