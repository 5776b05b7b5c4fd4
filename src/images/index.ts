/** Image intake: data URL parsing and validation/normalization of uploaded images. */
export { decodeDataUrl, type DecodeDataUrlOptions, type DecodedDataUrl } from './data-url';
export { IMAGE_ERROR_CODES, imageUserError, type ImageErrorCode, type ImageFailure } from './errors';
export { sniffImageFormat, type AcceptedImageFormat, type SniffedFormat } from './format-sniffing';
export { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MIN_IMAGE_SIDE } from './limits';
export {
  normalizeImage,
  type ImageLimits,
  type NormalizedImage,
  type NormalizedImageType,
  type NormalizeImageFailureCode,
  type NormalizeImageResult,
} from './normalize-image';
