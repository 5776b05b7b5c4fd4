/**
 * Inpainting masks: which person pixels a render repaints. Built from parsed body-part labels
 * per the manifest's parser.categoryMask rule (union over the outfit's categories of the label
 * set, square dilation at person resolution, max-pool to latent resolution), the same rule
 * training used on ground-truth labels.
 */
import { InferenceError } from './errors';
import type { ParserSpec } from './model-package';

/** Per-pixel argmax over a [numLabels, height, width] logits tensor. */
export function labelsFromLogits(logits: Float32Array, numLabels: number, width: number, height: number): Uint8Array {
  const pixels = width * height;
  if (logits.length !== numLabels * pixels)
    throw new RangeError(`logits hold ${logits.length} values, expected ${numLabels}x${height}x${width}`);
  const labels = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let best = 0;
    let bestValue = logits[p]!;
    for (let label = 1; label < numLabels; label++) {
      const value = logits[label * pixels + p]!;
      if (value > bestValue) {
        bestValue = value;
        best = label;
      }
    }
    labels[p] = best;
  }
  return labels;
}

/** Binary mask (1 = repaint) at label resolution for an outfit made of `categories`. */
export function outfitMaskFromLabels(
  labels: Uint8Array,
  width: number,
  height: number,
  categories: readonly string[],
  parser: ParserSpec,
): Uint8Array {
  if (labels.length !== width * height) throw new RangeError(`labels hold ${labels.length} pixels, expected ${width}x${height}`);
  // Dilation distributes over union, so categories with the same radius are dilated together:
  // one pass per distinct radius (2 for the shipped package) instead of one per category.
  const selectedByRadius = new Map<number, Uint8Array>();
  for (const category of new Set(categories)) {
    const rule = parser.categoryMask[category];
    if (rule === undefined) {
      throw new InferenceError('UNKNOWN_CATEGORY', `the model's parser has no mask rule for category ${category}; supply a mask`);
    }
    let selected = selectedByRadius.get(rule.dilate);
    if (selected === undefined) selectedByRadius.set(rule.dilate, (selected = new Uint8Array(parser.labels.length)));
    for (const name of rule.labels) {
      const index = parser.labels.indexOf(name);
      if (index >= 0) selected[index] = 1;
    }
  }
  const union = new Uint8Array(width * height);
  for (const [radius, selected] of selectedByRadius) {
    const categoryMask = new Uint8Array(width * height);
    for (let p = 0; p < labels.length; p++) categoryMask[p] = selected[labels[p]!] ?? 0;
    const dilated = dilateSquare(categoryMask, width, height, radius);
    for (let p = 0; p < union.length; p++) union[p] = union[p]! | dilated[p]!;
  }
  return union;
}

/** Dilation with a (2r+1)x(2r+1) square: separable running max, rows then columns. */
export function dilateSquare(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  if (radius <= 0) return mask.slice();
  const horizontal = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let value = 0;
      const from = Math.max(0, x - radius);
      const to = Math.min(width - 1, x + radius);
      for (let k = from; k <= to && value === 0; k++) value = mask[row + k]!;
      horizontal[row + x] = value;
    }
  }
  const result = new Uint8Array(mask.length);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      let value = 0;
      const from = Math.max(0, y - radius);
      const to = Math.min(height - 1, y + radius);
      for (let k = from; k <= to && value === 0; k++) value = horizontal[k * width + x]!;
      result[y * width + x] = value;
    }
  }
  return result;
}

/** Max-pools a binary mask by `factor` (person resolution -> latent resolution), as float32 0/1. */
export function maxPoolMask(mask: Uint8Array, width: number, height: number, factor: number): Float32Array {
  const outWidth = Math.floor(width / factor);
  const outHeight = Math.floor(height / factor);
  if (outWidth * factor !== width || outHeight * factor !== height) {
    throw new RangeError(`mask ${width}x${height} is not a multiple of the latent downscale ${factor}`);
  }
  const pooled = new Float32Array(outWidth * outHeight);
  for (let oy = 0; oy < outHeight; oy++) {
    for (let ox = 0; ox < outWidth; ox++) {
      let value = 0;
      for (let dy = 0; dy < factor && value === 0; dy++) {
        const row = (oy * factor + dy) * width + ox * factor;
        for (let dx = 0; dx < factor; dx++) {
          if (mask[row + dx]! !== 0) {
            value = 1;
            break;
          }
        }
      }
      pooled[oy * outWidth + ox] = value;
    }
  }
  return pooled;
}

/** Person image tensor [3,H,W] with the masked pixels set to 0 (the vae_encoder input for masked_latent). */
export function maskPersonPixels(personChw: Float32Array, mask: Uint8Array): Float32Array {
  const pixels = mask.length;
  if (personChw.length !== 3 * pixels) throw new RangeError(`person tensor holds ${personChw.length} values, mask ${pixels} pixels`);
  const masked = personChw.slice();
  for (let p = 0; p < pixels; p++) {
    if (mask[p] !== 0) {
      masked[p] = 0;
      masked[pixels + p] = 0;
      masked[2 * pixels + p] = 0;
    }
  }
  return masked;
}

/**
 * Nearest-neighbour upsampling of a latent-resolution mask back to pixels: the region the model
 * actually repaints. Training zeroes exactly these pixels for masked_latent and pastes exactly
 * these back, so the engine does too.
 */
export function upsampleLatentMask(latentMask: Float32Array, latentWidth: number, latentHeight: number, factor: number): Uint8Array {
  const width = latentWidth * factor;
  const mask = new Uint8Array(width * latentHeight * factor);
  for (let y = 0; y < latentHeight * factor; y++) {
    const latentRow = Math.floor(y / factor) * latentWidth;
    for (let x = 0; x < width; x++) mask[y * width + x] = latentMask[latentRow + Math.floor(x / factor)]! > 0.5 ? 1 : 0;
  }
  return mask;
}
