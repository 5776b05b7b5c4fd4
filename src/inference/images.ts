/**
 * Pixel plumbing around the graphs (sharp): decoding uploads, resizing to model sizes,
 * converting between RGB bytes and [-1,1] CHW tensors, PNG encoding, and compositing the
 * generated image back into the original photo so unmasked pixels stay byte-identical.
 */
import sharp from 'sharp';
import { InferenceError } from './errors';

export interface RgbImage {
  /** Row-major RGB bytes, width*height*3. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** Largest photo side the engine accepts (decoding a bigger one would only waste memory). */
export const MAX_IMAGE_SIDE = 8192;
/** Smallest side: below this nothing useful can be seen or repainted. */
export const MIN_IMAGE_SIDE = 16;

/** Decodes PNG/JPEG/WebP bytes to RGB (EXIF orientation applied, alpha dropped). */
export async function decodeImage(bytes: Uint8Array, what: string): Promise<RgbImage> {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0)
    throw new InferenceError('INVALID_IMAGE', `${what}: empty or missing image bytes`);
  let result: { data: Buffer; info: sharp.OutputInfo };
  try {
    result = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_IMAGE_SIDE * MAX_IMAGE_SIDE })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InferenceError('INVALID_IMAGE', `${what}: not a decodable PNG/JPEG/WebP image (${reason})`, { cause });
  }
  const { width, height, channels } = result.info;
  if (channels !== 3) throw new InferenceError('INVALID_IMAGE', `${what}: decoded to ${channels} channels, expected RGB`);
  checkImageSize(width, height, what);
  return { data: new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength), width, height };
}

export function checkImageSize(width: number, height: number, what: string): void {
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new InferenceError(
      'INVALID_IMAGE_SIZE',
      `${what}: ${width}x${height} is outside the accepted ${MIN_IMAGE_SIDE}..${MAX_IMAGE_SIDE} pixels per side`,
    );
  }
}

/** Resizes RGB bytes; 'fill' stretches (invertible mapping), 'contain' letterboxes on white. */
export async function resizeRgb(image: RgbImage, width: number, height: number, fit: 'fill' | 'contain' = 'fill'): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit, kernel: 'lanczos3', background: { r: 255, g: 255, b: 255 } })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

/** RGB bytes -> float32 [3,H,W] in [-1,1]. */
export function rgbToChw(image: RgbImage, target: Float32Array = new Float32Array(3 * image.width * image.height)): Float32Array {
  const pixels = image.width * image.height;
  const { data } = image;
  for (let p = 0; p < pixels; p++) {
    target[p] = data[3 * p]! / 127.5 - 1;
    target[pixels + p] = data[3 * p + 1]! / 127.5 - 1;
    target[2 * pixels + p] = data[3 * p + 2]! / 127.5 - 1;
  }
  return target;
}

/** float32 [3,H,W] in [-1,1] -> RGB bytes (clamped, rounded). */
export function chwToRgb(chw: Float32Array, width: number, height: number): RgbImage {
  const pixels = width * height;
  const data = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      const value = Math.round((chw[c * pixels + p]! + 1) * 127.5);
      data[3 * p + c] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
  return { data, width, height };
}

export async function encodePng(image: RgbImage, compressionLevel = 6): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel })
    .toBuffer();
}

/**
 * Decodes a mask image (any format sharp reads; white or any non-black = repaint) to a binary
 * mask resized to width x height. Resizing uses the mean, so `threshold` (0..255) decides how
 * much coverage marks a pixel.
 */
export async function decodeMask(bytes: Uint8Array, width: number, height: number, threshold: number): Promise<Uint8Array> {
  let gray: Buffer;
  try {
    gray = await sharp(bytes, { failOn: 'error' })
      .rotate()
      .flatten({ background: '#000000' })
      .toColourspace('b-w')
      .resize(width, height, { fit: 'fill', kernel: 'linear' })
      .raw({ depth: 'uchar' })
      .toBuffer();
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InferenceError('INVALID_MASK', `mask: not a decodable image (${reason})`, { cause });
  }
  if (gray.length !== width * height)
    throw new InferenceError('INVALID_MASK', `mask decoded to ${gray.length} values, expected ${width * height}`);
  const mask = new Uint8Array(width * height);
  for (let p = 0; p < mask.length; p++) mask[p] = gray[p]! >= threshold ? 1 : 0;
  return mask;
}

export async function imageSize(
  bytes: Uint8Array,
  what: string,
  code: 'INVALID_IMAGE' | 'INVALID_MASK' = 'INVALID_IMAGE',
): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(bytes).metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('no dimensions');
    // autoOrient dimensions: EXIF orientations 5-8 swap width and height.
    const swap = (meta.orientation ?? 1) >= 5;
    return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InferenceError(code, `${what}: not a decodable image (${reason})`, { cause });
  }
}

/** Nearest-neighbour upscale of a binary mask (keeps it binary and aligned with a 'fill' resize). */
export function resizeMaskNearest(mask: Uint8Array, width: number, height: number, targetWidth: number, targetHeight: number): Uint8Array {
  if (width === targetWidth && height === targetHeight) return mask;
  const result = new Uint8Array(targetWidth * targetHeight);
  const columns = new Int32Array(targetWidth);
  for (let x = 0; x < targetWidth; x++) columns[x] = Math.min(width - 1, Math.floor(((x + 0.5) * width) / targetWidth));
  for (let y = 0; y < targetHeight; y++) {
    const sourceRow = Math.min(height - 1, Math.floor(((y + 0.5) * height) / targetHeight)) * width;
    const row = y * targetWidth;
    for (let x = 0; x < targetWidth; x++) result[row + x] = mask[sourceRow + columns[x]!]!;
  }
  return result;
}

/**
 * Pastes `generated` (model resolution) into `original` inside `mask` (original resolution):
 * the generated image is upscaled to the photo's size, and every pixel outside the mask is
 * copied from the original untouched.
 */
export async function compositeIntoPhoto(original: RgbImage, generated: RgbImage, mask: Uint8Array): Promise<RgbImage> {
  const upscaled = await resizeRgb(generated, original.width, original.height, 'fill');
  const data = original.data.slice();
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] !== 0) {
      data[3 * p] = upscaled.data[3 * p]!;
      data[3 * p + 1] = upscaled.data[3 * p + 1]!;
      data[3 * p + 2] = upscaled.data[3 * p + 2]!;
    }
  }
  return { data, width: original.width, height: original.height };
}
