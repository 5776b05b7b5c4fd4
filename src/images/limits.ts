/** Default limits of image intake, shared by the data URL parser and the normalizer. */

/** 10 MiB. */
export const DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** 40 megapixels, as declared by the image header. */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;
/** Shortest accepted side, in pixels, after EXIF orientation. */
export const DEFAULT_MIN_IMAGE_SIDE = 64;
