/**
 * Parses `data:<mime>;base64,<payload>` URLs sent by API clients into bytes.
 * The declared MIME type is returned for information only: image intake
 * detects the real format from the bytes and never trusts it.
 */
import { DEFAULT_MAX_IMAGE_BYTES } from './limits';
import { imageFailure, type ImageFailure } from './errors';

export interface DecodedDataUrl {
  ok: true;
  bytes: Buffer;
  /** The MIME type the client claimed (lower-cased). Not trusted. */
  declaredType: string;
}

export interface DecodeDataUrlOptions {
  /**
   * Largest decoded size accepted, in bytes. Default 10 MiB (the image limit).
   * Larger payloads are refused with IMAGE_TOO_LARGE before any base64 decoding.
   */
  maxBytes?: number;
}

// Header only (the part before the first comma): small, so no backtracking risk.
const HEADER = /^data:([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)((?:;[a-z0-9!#$&^_.+-]+=[a-z0-9!#$&^_.+-]+)*);base64$/i;
// Standard alphabet, padded, no whitespace: one canonical spelling per byte string.
const BASE64_PAYLOAD = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_HEADER_LENGTH = 256;

export function decodeDataUrl(
  dataUrl: string,
  options: DecodeDataUrlOptions = {},
): DecodedDataUrl | ImageFailure<'INVALID_DATA_URL' | 'IMAGE_TOO_LARGE'> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  if (typeof dataUrl !== 'string') {
    return imageFailure('INVALID_DATA_URL', 'Expected a data URL string.');
  }
  const comma = dataUrl.indexOf(',');
  if (comma < 0 || comma > MAX_HEADER_LENGTH) {
    return invalid();
  }
  const header = HEADER.exec(dataUrl.slice(0, comma));
  if (!header) {
    return invalid();
  }
  const payload = dataUrl.slice(comma + 1);
  if (payload.length === 0) {
    return imageFailure('INVALID_DATA_URL', 'The data URL carries no data.');
  }
  // Refuse oversized payloads from the string length, before allocating the bytes.
  const padding = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0;
  const decodedLength = (payload.length / 4) * 3 - padding;
  if (payload.length % 4 === 0 && decodedLength > maxBytes) {
    return imageFailure('IMAGE_TOO_LARGE', `The image is ${decodedLength} bytes; the limit is ${maxBytes} bytes.`);
  }
  if (payload.length % 4 !== 0 || !BASE64_PAYLOAD.test(payload)) {
    return imageFailure('INVALID_DATA_URL', 'The data URL payload is not valid base64.');
  }
  const bytes = Buffer.from(payload, 'base64');
  // Buffer.from silently drops misplaced characters; a length check catches that.
  if (bytes.length !== decodedLength) {
    return imageFailure('INVALID_DATA_URL', 'The data URL payload is not valid base64.');
  }
  return { ok: true, bytes, declaredType: (header[1] ?? '').toLowerCase() };
}

function invalid(): ImageFailure<'INVALID_DATA_URL'> {
  return imageFailure('INVALID_DATA_URL', 'Expected a base64 data URL such as "data:image/png;base64,iVBORw0KGgo...".');
}
