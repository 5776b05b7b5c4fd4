/**
 * Quality evaluation of the inference engine (not a test): renders the package's held-out cases
 * (samples/index.json) and compares them with their ground truth inside the garment region
 * (the case's mask), against a naive baseline that pastes each garment's product image, resized,
 * into the bounding box of its region (plus a stronger variant that crops the product to its
 * non-white content and pastes only those pixels). On the first cases it also checks that
 * rendering from the persistent float16 cache matches rendering with no cache at all, and it
 * writes docs/tryon-example.png (person | garments | result). The last line printed is one
 * JSON object.
 *
 *   npm run eval:quality [-- <modelDir>]
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createEngine, type DiagnosticRenderResult, type GarmentCategory } from '../src/inference';
import { outfitMaskFromLabels } from '../src/inference/masks';
import { readModelPackage } from '../src/inference/model-package';
import { deserializePersonEncoding } from '../src/inference/person-encoding';

interface HeldoutCase {
  id: string;
  person: string;
  garments: string[];
  categories: GarmentCategory[];
  truth: string;
  mask: string;
  /** Ground-truth labels of the person photo (optional in the format). */
  labels?: string;
}

interface Rgb {
  data: Buffer;
  width: number;
  height: number;
}

const SEED = 1234;
/** Cases also rendered without a cache (the slow way) to check cached == uncached. */
const CACHE_COMPARISON_CASES = 6;

async function rgb(png: Buffer, width?: number, height?: number): Promise<Rgb> {
  let pipeline = sharp(png).removeAlpha().toColourspace('srgb');
  if (width !== undefined && height !== undefined) pipeline = pipeline.resize(width, height, { fit: 'fill' });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function binaryMask(png: Buffer, width: number, height: number): Promise<Uint8Array> {
  const gray = await sharp(png).flatten({ background: '#000000' }).toColourspace('b-w').resize(width, height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer();
  return Uint8Array.from(gray, (v) => (v >= 128 ? 1 : 0));
}

/** Mean SSIM (Gaussian window, sigma 1.5, radius 5; per RGB channel) over the pixels inside `mask`. */
function maskedSsim(a: Rgb, b: Rgb, mask: Uint8Array): number {
  const { width, height } = a;
  const radius = 5;
  const sigma = 1.5;
  const kernel: number[] = [];
  for (let i = -radius; i <= radius; i++) kernel.push(Math.exp(-(i * i) / (2 * sigma * sigma)));
  const kernelSum = kernel.reduce((s, v) => s + v, 0);
  const weights = kernel.map((v) => v / kernelSum);
  const blur = (values: Float64Array): Float64Array => {
    const horizontal = new Float64Array(values.length);
    const result = new Float64Array(values.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) sum += weights[k + radius]! * values[y * width + Math.min(width - 1, Math.max(0, x + k))]!;
        horizontal[y * width + x] = sum;
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) sum += weights[k + radius]! * horizontal[Math.min(height - 1, Math.max(0, y + k)) * width + x]!;
        result[y * width + x] = sum;
      }
    }
    return result;
  };
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const pixels = width * height;
  let total = 0;
  let count = 0;
  for (let c = 0; c < 3; c++) {
    const x = new Float64Array(pixels);
    const y = new Float64Array(pixels);
    for (let p = 0; p < pixels; p++) {
      x[p] = a.data[3 * p + c]!;
      y[p] = b.data[3 * p + c]!;
    }
    const muX = blur(x);
    const muY = blur(y);
    const xx = blur(x.map((v) => v * v));
    const yy = blur(y.map((v) => v * v));
    const xy = blur(x.map((v, p) => v * y[p]!));
    for (let p = 0; p < pixels; p++) {
      if (mask[p] === 0) continue;
      const varX = xx[p]! - muX[p]! ** 2;
      const varY = yy[p]! - muY[p]! ** 2;
      const cov = xy[p]! - muX[p]! * muY[p]!;
      total += ((2 * muX[p]! * muY[p]! + c1) * (2 * cov + c2)) / ((muX[p]! ** 2 + muY[p]! ** 2 + c1) * (varX + varY + c2));
      count++;
    }
  }
  return count === 0 ? 1 : total / count;
}

/** Squared error sum and count inside the mask (PSNR is computed over all cases pooled). */
function maskedSquaredError(a: Rgb, b: Rgb, mask: Uint8Array): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] === 0) continue;
    for (let c = 0; c < 3; c++) sum += (a.data[3 * p + c]! - b.data[3 * p + c]!) ** 2;
    count += 3;
  }
  return { sum, count };
}

function psnr(error: { sum: number; count: number }): number {
  return 10 * Math.log10((255 * 255) / Math.max(error.sum / Math.max(error.count, 1), 1e-10));
}

function boundingBox(mask: Uint8Array, width: number, height: number): { left: number; top: number; width: number; height: number } | null {
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  return maxX < 0 ? null : { left: minX, top: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function main(): Promise<void> {
  const modelDir = path.resolve(process.argv[2] ?? 'models/tryon-tiny');
  const pkg = await readModelPackage(modelDir);
  const { manifest } = pkg;
  const index = JSON.parse(readFileSync(path.join(modelDir, 'samples/index.json'), 'utf8')) as { heldout: HeldoutCase[] };
  const read = (relative: string): Buffer => readFileSync(path.join(modelDir, 'samples', relative));
  const engine = await createEngine({ modelDir });
  try {
    const ssimModel: number[] = [];
    const ssimParsed: number[] = [];
    const ssimNaive: number[] = [];
    const ssimNaiveCropped: number[] = [];
    const errors = { model: { sum: 0, count: 0 }, parsed: { sum: 0, count: 0 }, naive: { sum: 0, count: 0 } };
    let cachedVsUncached = 0;
    let comparedCases = 0;
    let perRequestVsUncached = 0;
    let example: { person: Buffer; garments: Buffer[]; result: Buffer } | null = null;
    let exampleMargin = -Infinity;

    for (const heldout of index.heldout) {
      const personImage = read(heldout.person);
      const truthPng = read(heldout.truth);
      const maskPng = read(heldout.mask);
      const truth = await rgb(truthPng);
      const mask = await binaryMask(maskPng, truth.width, truth.height);
      const garmentImages = heldout.garments.map(read);
      const person = (await engine.encodePerson(personImage)).data;
      const caches = await Promise.all(heldout.categories.map((category, i) => engine.encodeReference(garmentImages[i]!, category)));
      const garments = heldout.categories.map((category, i) => ({ category, cache: caches[i]!.data, image: garmentImages[i]! }));
      const request = { personImage, person, garments, steps: manifest.scheduler.defaultSteps, guidanceScale: manifest.scheduler.guidanceScale, seed: SEED };

      // The case's own mask (what the naive baseline uses too), then the engine's parsed mask.
      const withMask = await engine.diagnostics.render({ ...request, mask: maskPng }, 'persistent');
      const parsed = await engine.diagnostics.render(request, 'persistent');
      if (comparedCases < CACHE_COMPARISON_CASES) {
        // The same render with no cache at all (reference_encoder at every step) and with a
        // per-request float32 cache. modelImage is in [-1, 1]; differences are in [0, 1] image units.
        const uncached: DiagnosticRenderResult = await engine.diagnostics.render({ ...request, mask: maskPng }, 'everyStep');
        const perRequest = await engine.diagnostics.render({ ...request, mask: maskPng }, 'perRequest');
        cachedVsUncached = Math.max(cachedVsUncached, maxAbs(withMask.modelImage, uncached.modelImage) / 2);
        perRequestVsUncached = Math.max(perRequestVsUncached, maxAbs(perRequest.modelImage, uncached.modelImage) / 2);
        comparedCases++;
      }

      const output = await rgb(withMask.image, truth.width, truth.height);
      const parsedOutput = await rgb(parsed.image, truth.width, truth.height);
      ssimModel.push(maskedSsim(output, truth, mask));
      ssimParsed.push(maskedSsim(parsedOutput, truth, mask));
      for (const [key, image] of [['model', output], ['parsed', parsedOutput]] as const) {
        const e = maskedSquaredError(image, truth, mask);
        errors[key].sum += e.sum;
        errors[key].count += e.count;
      }

      // Naive baseline: each product image resized into the bounding box of its category's part of
      // the mask (the category rule applied to the person's labels: ground truth when the case has
      // them, else the engine's parse), pasted inside the mask.
      const naive = await rgb(personImage, truth.width, truth.height);
      const naiveCropped = await rgb(personImage, truth.width, truth.height);
      const encoding = deserializePersonEncoding(person, engine.model.id);
      const labels =
        heldout.labels !== undefined
          ? { data: Uint8Array.from(await sharp(read(heldout.labels)).extractChannel(0).raw().toBuffer()), width: truth.width, height: truth.height }
          : encoding.labels !== null
            ? { data: encoding.labels, width: encoding.width, height: encoding.height }
            : null;
      for (const [i, category] of heldout.categories.entries()) {
        let region = mask;
        if (labels !== null && manifest.parser !== undefined) {
          const own = outfitMaskFromLabels(labels.data, labels.width, labels.height, [category], manifest.parser);
          const ownScaled = await sharp(Buffer.from(own.map((v) => v * 255)), { raw: { width: labels.width, height: labels.height, channels: 1 } })
            .resize(truth.width, truth.height, { fit: 'fill', kernel: 'nearest' })
            .raw()
            .toBuffer();
          const intersection = mask.map((v, p) => (v === 1 && ownScaled[p]! >= 128 ? 1 : 0));
          if (intersection.some((v) => v === 1)) region = intersection;
        }
        const box = boundingBox(region, truth.width, truth.height);
        if (box === null) continue;
        const product = await rgb(garmentImages[i]!, box.width, box.height);
        // Stronger variant (as models/tools/eval.py does): the product cropped to its non-white
        // content, and only its non-white pixels pasted.
        const full = await rgb(garmentImages[i]!);
        const isContent = (data: Buffer, q: number): boolean => data[3 * q]! < 245 || data[3 * q + 1]! < 245 || data[3 * q + 2]! < 245;
        const content = boundingBox(Uint8Array.from({ length: full.width * full.height }, (_, q) => (isContent(full.data, q) ? 1 : 0)), full.width, full.height);
        const cropped =
          content === null
            ? product
            : await rgb(await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } }).extract(content).png().toBuffer(), box.width, box.height);
        for (let y = 0; y < box.height; y++) {
          for (let x = 0; x < box.width; x++) {
            const p = (box.top + y) * truth.width + box.left + x;
            if (mask[p] === 0) continue;
            const q = y * box.width + x;
            product.data.copy(naive.data, 3 * p, 3 * q, 3 * q + 3);
            if (isContent(cropped.data, q)) cropped.data.copy(naiveCropped.data, 3 * p, 3 * q, 3 * q + 3);
          }
        }
      }
      ssimNaive.push(maskedSsim(naive, truth, mask));
      ssimNaiveCropped.push(maskedSsim(naiveCropped, truth, mask));
      const e = maskedSquaredError(naive, truth, mask);
      errors.naive.sum += e.sum;
      errors.naive.count += e.count;
      console.log(
        `${heldout.id} [${heldout.categories.join('+')}]: SSIM model ${ssimModel.at(-1)!.toFixed(3)} (parsed mask ${ssimParsed.at(-1)!.toFixed(3)}), naive ${ssimNaive.at(-1)!.toFixed(3)} (cropped ${ssimNaiveCropped.at(-1)!.toFixed(3)})`,
      );
      // The example shown in docs/ is the case where the model gains most over the naive paste.
      const margin = ssimModel.at(-1)! - ssimNaive.at(-1)!;
      if (example === null || margin > exampleMargin) {
        example = { person: personImage, garments: garmentImages, result: withMask.image };
        exampleMargin = margin;
      }
    }

    if (example !== null) await writeExample(example, path.resolve(__dirname, '../docs/tryon-example.png'));
    const mean = (values: number[]): number => values.reduce((s, v) => s + v, 0) / Math.max(values.length, 1);
    const round = (value: number, digits = 4): number => Number(value.toFixed(digits));
    console.log(
      JSON.stringify({
        model: engine.model.id,
        cases: index.heldout.length,
        steps: manifest.scheduler.defaultSteps,
        ssimModel: round(mean(ssimModel)),
        ssimNaivePaste: round(mean(ssimNaive)),
        psnrModel: round(psnr(errors.model), 2),
        psnrNaivePaste: round(psnr(errors.naive), 2),
        ssimNaivePasteCropped: round(mean(ssimNaiveCropped)),
        ssimModelParsedMask: round(mean(ssimParsed)),
        psnrModelParsedMask: round(psnr(errors.parsed), 2),
        cachedVsUncachedMaxAbsDiff: Number(cachedVsUncached.toExponential(3)),
        cacheComparisonCases: comparedCases,
        perRequestCacheVsUncachedMaxAbsDiff: Number(perRequestVsUncached.toExponential(3)),
      }),
    );
  } finally {
    await engine.close();
  }
}

/** person | garments (stacked) | result, each panel scaled to the person's height. */
async function writeExample(example: { person: Buffer; garments: Buffer[]; result: Buffer }, file: string): Promise<void> {
  const height = 384;
  const panel = async (png: Buffer, h: number): Promise<{ input: Buffer; width: number; height: number }> => {
    const { data, info } = await sharp(png).removeAlpha().resize({ height: h, kernel: 'nearest' }).png().toBuffer({ resolveWithObject: true });
    return { input: data, width: info.width, height: info.height };
  };
  const gap = 8;
  const person = await panel(example.person, height);
  const garmentHeight = Math.floor((height - gap * (example.garments.length - 1)) / example.garments.length);
  const garments = await Promise.all(example.garments.map((g) => panel(g, garmentHeight)));
  const result = await panel(example.result, height);
  const garmentWidth = Math.max(...garments.map((g) => g.width));
  const width = person.width + garmentWidth + result.width + 4 * gap;
  const composites: sharp.OverlayOptions[] = [{ input: person.input, left: gap, top: gap }];
  garments.forEach((g, i) => composites.push({ input: g.input, left: 2 * gap + person.width + Math.floor((garmentWidth - g.width) / 2), top: gap + i * (garmentHeight + gap) }));
  composites.push({ input: result.input, left: 3 * gap + person.width + garmentWidth, top: gap });
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width, height: height + 2 * gap, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toFile(file);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
