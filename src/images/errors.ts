/**
 * Stable failure codes of image intake. API users see these codes (as userErrors),
 * so they never change meaning; add new ones rather than repurposing old ones.
 */
import { userError, type UserError } from '../common/user-errors';

export type ImageErrorCode =
  /** The string is not a well-formed base64 `data:` URL. */
  | 'INVALID_DATA_URL'
  /** Empty, text, random bytes: nothing an image decoder recognises. */
  | 'NOT_AN_IMAGE'
  /** A PNG/JPEG/WebP signature, but the data is cut off or damaged. */
  | 'IMAGE_TRUNCATED'
  /** A real image in a format we do not accept (GIF, SVG, TIFF, HEIC, AVIF, BMP...). */
  | 'UNSUPPORTED_IMAGE_FORMAT'
  /** More bytes than allowed (checked before anything else). */
  | 'IMAGE_TOO_LARGE'
  /** The header declares more pixels than allowed (checked before decoding). */
  | 'IMAGE_TOO_MANY_PIXELS'
  /** A side is shorter than allowed (after EXIF orientation). */
  | 'IMAGE_TOO_SMALL';

/** Every code, for exhaustiveness checks and schema enums. */
export const IMAGE_ERROR_CODES: readonly ImageErrorCode[] = [
  'INVALID_DATA_URL',
  'NOT_AN_IMAGE',
  'IMAGE_TRUNCATED',
  'UNSUPPORTED_IMAGE_FORMAT',
  'IMAGE_TOO_LARGE',
  'IMAGE_TOO_MANY_PIXELS',
  'IMAGE_TOO_SMALL',
];

/** An expected refusal: the message is written for the API user and holds no internals. */
export interface ImageFailure<C extends ImageErrorCode = ImageErrorCode> {
  ok: false;
  code: C;
  message: string;
}

export function imageFailure<C extends ImageErrorCode>(code: C, message: string): ImageFailure<C> {
  return { ok: false, code, message };
}

/** A refusal of image intake as the userError of the mutation that took the image. */
export function imageUserError(failure: ImageFailure, field: string[]): UserError {
  return userError(failure.code, failure.message, field);
}
