/**
 * InferenceError: the one error type the engine throws, with a stable `code` that callers
 * (the render worker, the API's error mapping) can switch on exhaustively.
 */

export type InferenceErrorCode =
  | 'MODEL_FILE_MISSING'
  | 'MODEL_CHECKSUM_MISMATCH'
  | 'INVALID_MANIFEST'
  | 'MODEL_CONTRACT_MISMATCH'
  | 'EXECUTION_PROVIDER_UNAVAILABLE'
  | 'INVALID_IMAGE'
  | 'INVALID_IMAGE_SIZE'
  | 'INVALID_MASK'
  | 'UNKNOWN_CATEGORY'
  | 'INVALID_CACHE'
  | 'INVALID_REQUEST'
  | 'CANCELED'
  | 'ENGINE_CLOSED'
  | 'ENGINE_CRASHED'
  | 'INTERNAL';

/** Every code, for exhaustive checks and for rebuilding errors that crossed the worker boundary. */
export const INFERENCE_ERROR_CODES: readonly InferenceErrorCode[] = [
  'MODEL_FILE_MISSING',
  'MODEL_CHECKSUM_MISMATCH',
  'INVALID_MANIFEST',
  'MODEL_CONTRACT_MISMATCH',
  'EXECUTION_PROVIDER_UNAVAILABLE',
  'INVALID_IMAGE',
  'INVALID_IMAGE_SIZE',
  'INVALID_MASK',
  'UNKNOWN_CATEGORY',
  'INVALID_CACHE',
  'INVALID_REQUEST',
  'CANCELED',
  'ENGINE_CLOSED',
  'ENGINE_CRASHED',
  'INTERNAL',
];

export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  readonly code: InferenceErrorCode;
  /** Package files involved (model file errors only), relative to the model directory. */
  readonly files: readonly string[];

  constructor(code: InferenceErrorCode, message: string, options?: { files?: readonly string[]; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.files = options?.files ?? [];
  }
}

/** The plain shape an InferenceError takes to cross postMessage (class identity does not survive cloning). */
export interface SerializedInferenceError {
  code: InferenceErrorCode;
  message: string;
  files: readonly string[];
}

export function serializeError(error: unknown): SerializedInferenceError {
  if (error instanceof InferenceError) return { code: error.code, message: error.message, files: error.files };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message, files: [] };
}

export function deserializeError(serialized: SerializedInferenceError): InferenceError {
  const code = INFERENCE_ERROR_CODES.includes(serialized.code) ? serialized.code : 'INTERNAL';
  return new InferenceError(code, serialized.message, { files: serialized.files });
}

/** Engine failures that say nothing about the input (the engine stopped or broke): worth another attempt. */
const TRANSIENT_CODES: ReadonlySet<InferenceErrorCode> = new Set(['ENGINE_CRASHED', 'ENGINE_CLOSED', 'INTERNAL']);

/** An engine failure that another attempt would meet again (the input is the cause); anything else may be retried. */
export function isPermanentEngineError(error: unknown): error is InferenceError {
  return error instanceof InferenceError && !TRANSIENT_CODES.has(error.code);
}
