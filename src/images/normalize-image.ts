/**
 * Image intake: turns untrusted uploaded bytes into a stored, normalized image
 * (EXIF orientation applied, metadata such as GPS stripped) or a refusal with a
 * stable code. Every limit is checked as early and as cheaply as possible:
 * byte size first, then the format from magic bytes, then dimensions from the
 * header alone, and only then a full decode.
 */
import sharp from 'sharp';
import { imageFailure, type ImageErrorCode, type ImageFailure } from './errors';
import { sniffImageFormat, type AcceptedImageFormat } from './format-sniffing';
import { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MIN_IMAGE_SIDE } from './limits';

export interface ImageLimits {
  /** Largest accepted input, in bytes. Default 10 MiB; over it: IMAGE_TOO_LARGE. */
  maxBytes?: number;
  /** Most pixels (width × height) the header may declare. Default 40 000 000; over it: IMAGE_TOO_MANY_PIXELS. */
  maxPixels?: number;
  /** Shortest accepted side after orientation, in pixels. Default 64; under it: IMAGE_TOO_SMALL. */
  minSide?: number;
}

export type NormalizedImageType = 'image/png' | 'image/jpeg' | 'image/webp';

export interface NormalizedImage {
  /** Encoded bytes, upright (orientation applied), without EXIF/XMP metadata. */
  data: Buffer;
  width: number;
  height: number;
  /** Always matches the encoding of `data`. */
  contentType: NormalizedImageType;
}

export type NormalizeImageFailureCode = Exclude<ImageErrorCode, 'INVALID_DATA_URL'>;

export type NormalizeImageResult = { ok: true; image: NormalizedImage } | ImageFailure<NormalizeImageFailureCode>;

const CONTENT_TYPES: Record<AcceptedImageFormat, NormalizedImageType> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};
const FORMAT_NAMES: Record<AcceptedImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP' };
const ACCEPTED = 'Send a PNG, JPEG or WebP image.';
// Quality for lossy re-encoding: high enough that the try-on model sees no new artefacts.
const LOSSY_QUALITY = 92;

/**
 * Validates and normalizes an uploaded image. The output keeps the input's
 * format (PNG stays lossless; JPEG and WebP are re-encoded at quality 92), so
 * nothing is lost for PNG and photos do not balloon in size.
 */
export async function normalizeImage(bytes: Buffer, limits: ImageLimits = {}): Promise<NormalizeImageResult> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const minSide = limits.minSide ?? DEFAULT_MIN_IMAGE_SIDE;

  if (!Buffer.isBuffer(bytes)) {
    return imageFailure('NOT_AN_IMAGE', `No file data was received. ${ACCEPTED}`);
  }
  if (bytes.length === 0) {
    return imageFailure('NOT_AN_IMAGE', `The file is empty. ${ACCEPTED}`);
  }
  if (bytes.length > maxBytes) {
    return imageFailure('IMAGE_TOO_LARGE', `The image is ${bytes.length} bytes; the limit is ${maxBytes} bytes (${formatMiB(maxBytes)}).`);
  }

  const sniffed = sniffImageFormat(bytes);
  if (sniffed.kind === 'unsupported') {
    return imageFailure('UNSUPPORTED_IMAGE_FORMAT', `${sniffed.name} images are not accepted. ${ACCEPTED}`);
  }
  if (sniffed.kind === 'unknown') {
    return refuseUnknown(bytes, maxPixels);
  }
  const format = sniffed.format;
  const formatName = FORMAT_NAMES[format];
  const truncated = imageFailure(
    'IMAGE_TRUNCATED',
    `The ${formatName} image is incomplete or damaged and cannot be decoded; it may have been cut off during upload.`,
  );
  // failOn 'truncated': refuse cut-off data instead of filling it with grey.
  // sharp's default ('warning') would also refuse harmless warnings that are
  // common in real uploads (a PNG's "known incorrect sRGB profile", extraneous
  // bytes in phone JPEGs).
  const decoderOptions: sharp.SharpOptions = { failOn: 'truncated', limitInputPixels: maxPixels };

  // metadata() parses only the header: dimensions are known before any decoding.
  // Its own pixel limit is off so that an oversized header gets its own code below.
  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(bytes, { ...decoderOptions, limitInputPixels: false }).metadata();
  } catch {
    return truncated;
  }
  if (metadata.format !== format || !metadata.width || !metadata.height) {
    return truncated;
  }
  const { width, height } = metadata;
  if (width * height > maxPixels) {
    return imageFailure(
      'IMAGE_TOO_MANY_PIXELS',
      `The image is ${width}×${height} pixels (${formatMegapixels(width * height)}); ` + `the limit is ${formatMegapixels(maxPixels)}.`,
    );
  }
  // Sides as displayed: EXIF orientations 5-8 turn the image a quarter, swapping them.
  const upright = metadata.autoOrient;
  if (Math.min(upright.width, upright.height) < minSide) {
    return tooSmall(upright.width, upright.height, minSide);
  }

  let output: { data: Buffer; info: sharp.OutputInfo };
  try {
    const pipeline = sharp(bytes, decoderOptions).autoOrient();
    output = await (
      format === 'png'
        ? pipeline.png()
        : format === 'jpeg'
          ? pipeline.jpeg({ quality: LOSSY_QUALITY })
          : pipeline.webp({ quality: LOSSY_QUALITY })
    ).toBuffer({ resolveWithObject: true });
  } catch (error) {
    if (error instanceof Error && /pixel limit/i.test(error.message)) {
      return imageFailure('IMAGE_TOO_MANY_PIXELS', `The image has more than ${formatMegapixels(maxPixels)}.`);
    }
    return truncated;
  }
  const { info } = output;
  if (Math.min(info.width, info.height) < minSide) {
    return tooSmall(info.width, info.height, minSide);
  }
  return {
    ok: true,
    image: { data: output.data, width: info.width, height: info.height, contentType: CONTENT_TYPES[format] },
  };
}

// Bytes with no signature we know: if sharp can still read them (an SVG with a
// long preamble, a format a custom libvips build adds), they are an image of a
// refused format; otherwise they are no image at all.
async function refuseUnknown(bytes: Buffer, maxPixels: number): Promise<ImageFailure<NormalizeImageFailureCode>> {
  try {
    const metadata = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
    return imageFailure('UNSUPPORTED_IMAGE_FORMAT', `${metadata.format.toUpperCase()} images are not accepted. ${ACCEPTED}`);
  } catch {
    return imageFailure('NOT_AN_IMAGE', `The file is not an image. ${ACCEPTED}`);
  }
}

function tooSmall(width: number, height: number, minSide: number): ImageFailure<'IMAGE_TOO_SMALL'> {
  return imageFailure('IMAGE_TOO_SMALL', `The image is ${width}×${height} pixels; each side must be at least ${minSide} pixels.`);
}

function formatMegapixels(pixels: number): string {
  return `${Number((pixels / 1_000_000).toFixed(1))} megapixels`;
}

function formatMiB(bytes: number): string {
  return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
}
