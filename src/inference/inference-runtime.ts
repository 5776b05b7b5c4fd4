/**
 * InferenceRuntime: everything that happens inside the engine's worker thread. Loads and
 * verifies a package, holds the sessions, the unconditional (zero-reference) K/V of every
 * category, and the continuous batcher; turns requests into tensors and tensors into PNGs.
 */
import { performance } from 'node:perf_hooks';
import { BoundedMap } from '../common/bounded-map';
import { sha256Hex } from './blob-envelope';
import { assembleBatch, concatenateSlots, ContinuousBatcher, type SlotReferences } from './denoise-batcher';
import { InferenceError } from './errors';
import {
  chwToRgb,
  compositeIntoPhoto,
  decodeImage,
  decodeMask,
  encodePng,
  imageSize,
  resizeMaskNearest,
  resizeRgb,
  rgbToChw,
  type RgbImage,
} from './images';
import { labelsFromLogits, maskPersonPixels, maxPoolMask, outfitMaskFromLabels, upsampleLatentMask } from './masks';
import { categoryIndex, readModelPackage, type ModelManifest, type ModelPackage } from './model-package';
import { ModelSessions } from './model-sessions';
import { deserializePersonEncoding, serializePersonEncoding, type PersonEncoding } from './person-encoding';
import { SeededRandom } from './random';
import { deserializeReferenceCache, serializeReferenceCache, type LayerKV } from './reference-cache';
import { DdimScheduler } from './scheduler';
import type {
  BareLoopTiming,
  DiagnosticGarment,
  DiagnosticRenderRequest,
  DiagnosticRenderResult,
  ModelIdentity,
  ReferencePolicy,
  StepPreview,
  StepProgress,
} from './types';

export interface RuntimeOptions {
  modelDir: string;
  threads: number;
  maxBatch: number;
  /** Nice value (0..19) the worker thread lowers itself to before it opens the graphs. */
  nice: number;
}

export interface RenderHooks {
  onStep?: (progress: StepProgress) => void;
  isCanceled: () => boolean;
  previews: boolean;
  previewIntervalMs: number;
}

/** A person photo's aspect ratio may differ from the model's by this much (relative) before it is refused rather than stretched. */
const MAX_ASPECT_DEVIATION = 0.25;
/** (Photo, categories) pairs whose outfit masks and masked latent are kept (~170 kB each for the tiny model). */
const RECENT_OUTFIT_INPUTS = 64;
/** Previews are at most this many pixels tall. */
const PREVIEW_MAX_HEIGHT = 64;

/** What a render's denoising needs from the photo and the outfit's categories (or supplied mask). */
interface OutfitInputs {
  /** Model resolution, 1 = repaint. */
  pixelMask: Uint8Array;
  /** Photo resolution, from a supplied mask; null: the pixel mask is scaled up for compositing. */
  compositeMask: Uint8Array | null;
  latentMask: Float32Array;
  maskedLatent: Float32Array;
}

/** A garment's two reference sources for one render: conditional K/V and the category's unconditional K/V. */
interface GarmentReferences {
  category: string;
  conditional: LayerKV[];
  unconditional: LayerKV[];
  /** Set for 'everyStep': recompute both from these latents at every step. */
  latent?: Float32Array;
}

export class InferenceRuntime {
  readonly model: ModelIdentity;
  private readonly manifest: ModelManifest;
  private readonly batcher: ContinuousBatcher;
  /** Outfit masks and masked latents of recent (photo, categories) pairs; read-only once made. */
  private readonly recentOutfitInputs = new BoundedMap<string, OutfitInputs>(RECENT_OUTFIT_INPUTS);
  private readonly zeroReferenceLatent: Float32Array;
  /** Recent VAE-decode duration, for ETAs. */
  private lastDecodeMs = 0;

  private constructor(
    pkg: ModelPackage,
    private readonly sessions: ModelSessions,
    private readonly scheduler: DdimScheduler,
    /** reference_encoder(zeros, category) per category: the classifier-free-guidance branch, computed once at load. */
    private readonly unconditionalByCategory: ReadonlyMap<string, LayerKV[]>,
    maxBatch: number,
  ) {
    this.manifest = pkg.manifest;
    this.model = { name: pkg.manifest.name, version: pkg.manifest.version, id: pkg.id };
    this.batcher = new ContinuousBatcher(sessions, scheduler, pkg.manifest.kv.layers, maxBatch);
    const { channels, height, width } = pkg.manifest.referenceLatent;
    this.zeroReferenceLatent = new Float32Array(channels * height * width);
  }

  static async load(options: RuntimeOptions): Promise<InferenceRuntime> {
    const pkg = await readModelPackage(options.modelDir);
    checkManifestConsistency(pkg);
    const sessions = await ModelSessions.open(pkg, options.threads);
    try {
      const scheduler = new DdimScheduler(pkg.manifest.scheduler);
      const { channels, height, width } = pkg.manifest.referenceLatent;
      const zeros = new Float32Array(channels * height * width);
      const unconditional = new Map<string, LayerKV[]>();
      for (const [id, category] of pkg.manifest.categories.entries()) unconditional.set(category, await sessions.encodeReference(zeros, id));
      const runtime = new InferenceRuntime(pkg, sessions, scheduler, unconditional, options.maxBatch);
      await runtime.warmUp();
      return runtime;
    } catch (error) {
      await sessions.close();
      throw error;
    }
  }

  /**
   * Runs the whole request path once (image codec, every graph, the float16 codec, a one-step
   * render) so the first real request pays for no allocations, kernel selection or JIT warm-up.
   */
  private async warmUp(): Promise<void> {
    const { person } = this.manifest;
    const gray = chwToRgb(new Float32Array(3 * person.width * person.height), person.width, person.height);
    const photo = await encodePng(gray);
    const mask = await encodePng({ ...gray, data: new Uint8Array(gray.data.length).fill(255) });
    const encoded = await this.encodePerson(photo);
    const category = this.manifest.categories[0]!;
    const cache = serializeReferenceCache({ modelId: this.model.id, category, layers: this.unconditional(category) }, this.manifest.kv.layers);
    await this.render(
      { personImage: photo, person: encoded.data, garments: [{ category, cache }], steps: 1, guidanceScale: 1, seed: 0, mask },
      'persistent',
      { isCanceled: () => false, previews: false, previewIntervalMs: 0 },
    );
  }

  async close(): Promise<void> {
    await this.sessions.close();
  }

  // ---------------------------------------------------------------- references

  async encodeReference(image: Uint8Array, category: string): Promise<{ data: Buffer; computeMs: number }> {
    const started = performance.now();
    const { conditional } = await this.computeGarmentReferences(category, image);
    const data = serializeReferenceCache({ modelId: this.model.id, category, layers: conditional }, this.manifest.kv.layers);
    return { data, computeMs: performance.now() - started };
  }

  private async garmentLatent(image: Uint8Array): Promise<Float32Array> {
    const decoded = await decodeImage(image, 'garment image');
    const { width, height } = this.manifest.reference;
    const resized = await resizeRgb(decoded, width, height, 'contain');
    return this.sessions.vaeEncodeReference(rgbToChw(resized));
  }

  private async computeGarmentReferences(category: string, image: Uint8Array | undefined): Promise<GarmentReferences & { latent: Float32Array }> {
    const id = categoryIndex(this.manifest, category);
    if (image === undefined) throw new InferenceError('INVALID_REQUEST', `a ${category} garment has no image to encode`);
    const latent = await this.garmentLatent(image);
    return {
      category,
      latent,
      conditional: await this.sessions.encodeReference(latent, id),
      unconditional: this.unconditional(category),
    };
  }

  private unconditional(category: string): LayerKV[] {
    const kv = this.unconditionalByCategory.get(category);
    if (kv === undefined) categoryIndex(this.manifest, category); // throws UNKNOWN_CATEGORY
    return kv!;
  }

  private slotReferences(garments: readonly GarmentReferences[]): SlotReferences {
    const layers = this.manifest.kv.layers;
    return {
      slots: garments.length,
      conditional: concatenateSlots(
        garments.map((g) => g.conditional),
        layers,
      ),
      unconditional: concatenateSlots(
        garments.map((g) => g.unconditional),
        layers,
      ),
    };
  }

  // ---------------------------------------------------------------- person

  async encodePerson(image: Uint8Array): Promise<{ data: Buffer; computeMs: number }> {
    const started = performance.now();
    const photo = await decodeImage(image, 'person photo');
    this.checkPersonAspect(photo.width, photo.height, 'person photo');
    const { width, height } = this.manifest.person;
    const resized = await resizeRgb(photo, width, height, 'fill');
    const chw = rgbToChw(resized);
    const latent = await this.sessions.vaeEncode(chw, 1);
    const labels = this.sessions.hasParser ? labelsFromLogits(await this.sessions.parse(chw), this.manifest.parser!.labels.length, width, height) : null;
    const { channels, height: lh, width: lw } = this.manifest.latent;
    const encoding: PersonEncoding = {
      modelId: this.model.id,
      photo: { width: photo.width, height: photo.height, sha256: sha256Hex(image) },
      width,
      height,
      pixels: resized.data,
      labels,
      latent,
      latentShape: [channels, lh, lw],
    };
    return { data: serializePersonEncoding(encoding), computeMs: performance.now() - started };
  }

  private checkPersonAspect(photoWidth: number, photoHeight: number, what: string): void {
    const { width, height } = this.manifest.person;
    const modelAspect = width / height;
    const aspect = photoWidth / photoHeight;
    if (Math.abs(aspect / modelAspect - 1) > MAX_ASPECT_DEVIATION) {
      throw new InferenceError(
        'INVALID_IMAGE_SIZE',
        `${what}: ${photoWidth}x${photoHeight} (aspect ${aspect.toFixed(2)}) is too far from the model's ${width}x${height} (aspect ${modelAspect.toFixed(2)}); crop it to about ${width}:${height}`,
      );
    }
  }

  // ---------------------------------------------------------------- render

  async render(request: DiagnosticRenderRequest, policy: ReferencePolicy, hooks: RenderHooks): Promise<DiagnosticRenderResult> {
    const started = performance.now();
    const { steps, guidanceScale, seed } = validateRenderParameters(request, this.scheduler.trainTimesteps);
    const maxGarments = this.manifest.maxGarments ?? 5;
    if (!Array.isArray(request.garments) || request.garments.length === 0 || request.garments.length > maxGarments) {
      throw new InferenceError('INVALID_REQUEST', `a render needs 1 to ${maxGarments} garments, got ${Array.isArray(request.garments) ? request.garments.length : 'none'}`);
    }
    for (const garment of request.garments) categoryIndex(this.manifest, garment.category);

    const person = deserializePersonEncoding(request.person, this.model.id);
    if (!(request.personImage instanceof Uint8Array) || sha256Hex(request.personImage) !== person.photo.sha256) {
      throw new InferenceError('INVALID_CACHE', 'person encoding belongs to another photo than personImage; encode this photo first');
    }
    // Decoding the full-size photo is only needed for compositing: start it now, await it at the end.
    const originalPromise = decodeImage(request.personImage, 'person photo');
    originalPromise.catch(() => undefined);

    if (hooks.isCanceled()) throw canceled(0, steps);
    const referenceStarted = performance.now();
    const garments = await this.loadGarmentReferences(request.garments, policy);
    let references = this.slotReferences(garments);
    const referenceMs = performance.now() - referenceStarted;

    const { pixelMask, compositeMask, latentMask, maskedLatent } = await this.outfitInputs(request, person);
    const { channels, height: lh, width: lw } = this.manifest.latent;

    const random = new SeededRandom(seed);
    const initialSample = random.fillGaussian(new Float32Array(channels * lh * lw));
    const timesteps = this.scheduler.timesteps(steps);
    if (hooks.isCanceled()) throw canceled(0, steps);

    const progress = new ProgressReporter(this, hooks, steps, () => this.lastDecodeMs);
    const denoiseStarted = performance.now();
    const batchRowsPerStep: number[] = [];
    let finalLatent: Float32Array;
    try {
      finalLatent = await this.batcher.run({
        timesteps,
        initialSample,
        mask: latentMask,
        maskedLatent,
        guidanceScale,
        references,
        random,
        isCanceled: hooks.isCanceled,
        onStep: (outcome) => {
          batchRowsPerStep.push(outcome.batchRows);
          progress.report(outcome.stepIndex + 1, outcome.predictedOriginal);
        },
        refreshReferences:
          policy === 'everyStep'
            ? async () => {
                references = this.slotReferences(await Promise.all(garments.map((g) => this.recomputeGarmentReferences(g))));
                return references;
              }
            : undefined,
      });
    } finally {
      await progress.flushed();
    }
    const denoiseMs = performance.now() - denoiseStarted;

    const decodeStarted = performance.now();
    const modelImage = await this.sessions.vaeDecode(finalLatent, 1);
    const decodeMs = (this.lastDecodeMs = performance.now() - decodeStarted);
    const composeStarted = performance.now();
    const generated = chwToRgb(modelImage, person.width, person.height);
    const original = await originalPromise;
    // Paste only the outfit mask itself: pixels of a repainted cell outside it keep the photo's own bytes.
    const fullMask = compositeMask ?? resizeMaskNearest(pixelMask, person.width, person.height, original.width, original.height);
    const composited = await compositeIntoPhoto(original, generated, fullMask);
    const image = await encodePng(composited);
    const composeMs = performance.now() - composeStarted;
    return {
      image,
      width: original.width,
      height: original.height,
      timings: { referenceMs, denoiseMs, decodeMs, composeMs, totalMs: performance.now() - started },
      modelImage,
      modelWidth: person.width,
      modelHeight: person.height,
      modelMask: pixelMask,
      maxBatchRows: Math.max(0, ...batchRowsPerStep),
      batchRowsPerStep,
    };
  }

  private async loadGarmentReferences(garments: readonly DiagnosticGarment[], policy: ReferencePolicy): Promise<GarmentReferences[]> {
    const layers = this.manifest.kv.layers;
    const result: GarmentReferences[] = [];
    for (const garment of garments) {
      if (policy === 'persistent') {
        if (!(garment.cache instanceof Uint8Array)) throw new InferenceError('INVALID_CACHE', `the ${garment.category} garment has no reference cache`);
        const cache = deserializeReferenceCache(garment.cache, this.model.id, layers, garment.category);
        result.push({ category: garment.category, conditional: cache.layers, unconditional: this.unconditional(garment.category) });
      } else if (policy === 'everyStep') {
        // The first refresh (before step 1) computes both branches; until then the load-time K/V hold the slot.
        if (garment.image === undefined) throw new InferenceError('INVALID_REQUEST', `a ${garment.category} garment has no image to encode`);
        const unconditional = this.unconditional(garment.category);
        result.push({ category: garment.category, latent: await this.garmentLatent(garment.image), conditional: unconditional, unconditional });
      } else {
        const computed = await this.computeGarmentReferences(garment.category, garment.image);
        // As FastFit does per request: the unconditional K/V are computed here too, not taken from the load-time cache.
        computed.unconditional = await this.sessions.encodeReference(this.zeroReferenceLatent, categoryIndex(this.manifest, garment.category));
        result.push(computed);
      }
    }
    return result;
  }

  private async recomputeGarmentReferences(garment: GarmentReferences): Promise<GarmentReferences> {
    const id = categoryIndex(this.manifest, garment.category);
    return {
      ...garment,
      conditional: await this.sessions.encodeReference(garment.latent!, id),
      unconditional: await this.sessions.encodeReference(this.zeroReferenceLatent, id),
    };
  }

  /**
   * The outfit's masks and the masked person latent. Those made from the photo's labels depend
   * only on the photo and the outfit's categories, and a shopper renders one photo with many
   * outfits of the same categories: they are kept for the most recent pairs.
   */
  private async outfitInputs(request: DiagnosticRenderRequest, person: PersonEncoding): Promise<OutfitInputs> {
    const key = request.mask === undefined ? `${person.photo.sha256}:${request.garments.map((g) => g.category).sort().join(',')}` : null;
    const kept = key === null ? undefined : this.recentOutfitInputs.get(key);
    if (kept) return kept;
    const { pixelMask, compositeMask } = await this.outfitMasks(request, person);
    const { downscale, height: lh, width: lw } = this.manifest.latent;
    const latentMask = maxPoolMask(pixelMask, person.width, person.height, downscale);
    // The model repaints whole latent cells, and training zeroes exactly those pixels for masked_latent.
    const repaintMask = upsampleLatentMask(latentMask, lw, lh, downscale);
    const inputs = { pixelMask, compositeMask, latentMask, maskedLatent: await this.maskedPersonLatent(person, repaintMask) };
    if (key !== null) this.recentOutfitInputs.set(key, inputs);
    return inputs;
  }

  /** The model-resolution pixel mask, and (for a supplied mask) a full-resolution one for compositing. */
  private async outfitMasks(request: DiagnosticRenderRequest, person: PersonEncoding): Promise<{ pixelMask: Uint8Array; compositeMask: Uint8Array | null }> {
    if (request.mask !== undefined) {
      if (!(request.mask instanceof Uint8Array)) throw new InferenceError('INVALID_MASK', 'mask must be image bytes');
      const size = await imageSize(request.mask, 'mask', 'INVALID_MASK');
      const photoAspect = person.photo.width / person.photo.height;
      if (Math.abs(size.width / size.height / photoAspect - 1) > 0.02) {
        throw new InferenceError('INVALID_MASK', `mask ${size.width}x${size.height} does not have the photo's aspect ratio (${person.photo.width}x${person.photo.height})`);
      }
      // Any coverage marks a model pixel (threshold 1/4), so the model repaints at least what the mask covers.
      const pixelMask = await decodeMask(request.mask, person.width, person.height, 64);
      const compositeMask = await decodeMask(request.mask, person.photo.width, person.photo.height, 128);
      return { pixelMask, compositeMask };
    }
    if (person.labels === null || this.manifest.parser === undefined) {
      throw new InferenceError('INVALID_REQUEST', `model ${this.model.id} has no parser; supply a mask`);
    }
    const categories = request.garments.map((g) => g.category);
    return { pixelMask: outfitMaskFromLabels(person.labels, person.width, person.height, categories, this.manifest.parser), compositeMask: null };
  }

  private async maskedPersonLatent(person: PersonEncoding, pixelMask: Uint8Array): Promise<Float32Array> {
    const chw = rgbToChw({ data: person.pixels, width: person.width, height: person.height });
    return this.sessions.vaeEncode(maskPersonPixels(chw, pixelMask), 1);
  }

  /** Small PNG of an x0 estimate (one vae_decoder call + downscale). */
  async preview(predictedOriginal: Float32Array): Promise<StepPreview> {
    const { width, height } = this.manifest.person;
    const decoded = await this.sessions.vaeDecode(predictedOriginal, 1);
    let image: RgbImage = chwToRgb(decoded, width, height);
    if (height > PREVIEW_MAX_HEIGHT) {
      const scale = PREVIEW_MAX_HEIGHT / height;
      image = await resizeRgb(image, Math.max(1, Math.round(width * scale)), PREVIEW_MAX_HEIGHT, 'fill');
    }
    return { png: await encodePng(image, 3), width: image.width, height: image.height };
  }

  // ---------------------------------------------------------------- diagnostics

  /** A garment's K/V exactly as reference_encoder returns them (float32, no cache round trip). */
  async referenceKv(image: Uint8Array, category: string): Promise<LayerKV[]> {
    return (await this.computeGarmentReferences(category, image)).conditional;
  }

  /** Times `steps` bare denoiser calls and one decode on ready-made tensors of a render's shape. */
  async timeBareLoop(shape: { slots: number; steps: number; renders?: number }): Promise<BareLoopTiming> {
    const renders = shape.renders ?? 1;
    const { channels, height, width } = this.manifest.latent;
    const latentSize = channels * height * width;
    const random = new SeededRandom(1);
    const category = this.manifest.categories[0]!;
    const garments = Array.from({ length: shape.slots }, () => ({ category, conditional: this.unconditional(category), unconditional: this.unconditional(category) }));
    const references = this.slotReferences(garments);
    const member = { mask: new Float32Array(height * width).fill(1), maskedLatent: random.fillGaussian(new Float32Array(latentSize)), references };
    const batch = assembleBatch(Array.from({ length: renders }, () => member), this.manifest.kv.layers);
    random.fillGaussian(batch.sample);
    batch.timestep.fill(500);
    const denoiseStarted = performance.now();
    for (let i = 0; i < shape.steps; i++) await this.sessions.denoise(batch);
    const denoiseMs = performance.now() - denoiseStarted;
    const decodeStarted = performance.now();
    await this.sessions.vaeDecode(batch.sample.subarray(0, renders * latentSize), renders);
    return { denoiseMs, decodeMs: performance.now() - decodeStarted };
  }
}

/** Orders step reports and attaches previews without holding up the batch. */
class ProgressReporter {
  private chain: Promise<void> = Promise.resolve();
  private previewInFlight = false;
  private lastPreviewAt = -Infinity;
  private readonly started = performance.now();

  constructor(
    private readonly runtime: InferenceRuntime,
    private readonly hooks: RenderHooks,
    private readonly totalSteps: number,
    private readonly decodeEstimate: () => number,
  ) {}

  report(step: number, predictedOriginal: Float32Array): void {
    const onStep = this.hooks.onStep;
    if (onStep === undefined) return;
    const elapsed = performance.now() - this.started;
    const etaMs = (elapsed / step) * (this.totalSteps - step) + this.decodeEstimate();
    let preview: Promise<StepPreview | undefined> = Promise.resolve(undefined);
    const now = performance.now();
    if (this.hooks.previews && !this.previewInFlight && now - this.lastPreviewAt >= this.hooks.previewIntervalMs) {
      this.previewInFlight = true;
      this.lastPreviewAt = now;
      // A failed preview must not fail the render.
      preview = this.runtime.preview(predictedOriginal).catch(() => undefined);
      void preview.finally(() => {
        this.previewInFlight = false;
      });
    }
    this.chain = this.chain.then(async () => {
      const made = await preview;
      if (this.hooks.isCanceled()) return;
      onStep(made === undefined ? { step, totalSteps: this.totalSteps, etaMs } : { step, totalSteps: this.totalSteps, etaMs, preview: made });
    });
  }

  flushed(): Promise<void> {
    return this.chain;
  }
}

function canceled(step: number, total: number): InferenceError {
  return new InferenceError('CANCELED', `render canceled after ${step} of ${total} steps`);
}

function validateRenderParameters(request: DiagnosticRenderRequest, trainTimesteps: number): { steps: number; guidanceScale: number; seed: number } {
  const { steps, guidanceScale, seed } = request;
  if (!Number.isInteger(steps) || steps < 1 || steps > trainTimesteps) throw new InferenceError('INVALID_REQUEST', `steps must be an integer in 1..${trainTimesteps}, got ${steps}`);
  if (typeof guidanceScale !== 'number' || !Number.isFinite(guidanceScale) || guidanceScale < 0 || guidanceScale > 50) {
    throw new InferenceError('INVALID_REQUEST', `guidanceScale must be a number in 0..50, got ${guidanceScale}`);
  }
  if (!Number.isSafeInteger(seed)) throw new InferenceError('INVALID_REQUEST', `seed must be a safe integer, got ${seed}`);
  return { steps, guidanceScale, seed };
}

function checkManifestConsistency(pkg: ModelPackage): void {
  const { person, latent, referenceLatent, reference, parser, categories } = pkg.manifest;
  const problems: string[] = [];
  if (latent.width * latent.downscale !== person.width || latent.height * latent.downscale !== person.height) {
    problems.push(`latent ${latent.width}x${latent.height} x${latent.downscale} does not match person ${person.width}x${person.height}`);
  }
  if (referenceLatent.width * latent.downscale !== reference.width || referenceLatent.height * latent.downscale !== reference.height) {
    problems.push(`referenceLatent ${referenceLatent.width}x${referenceLatent.height} does not match reference ${reference.width}x${reference.height}`);
  }
  if (referenceLatent.channels !== latent.channels) problems.push('referenceLatent.channels differs from latent.channels');
  if (parser) for (const category of categories) if (!(category in parser.categoryMask)) problems.push(`parser.categoryMask has no rule for ${category}`);
  if (problems.length > 0) throw new InferenceError('INVALID_MANIFEST', `model package ${pkg.dir}: manifest.json is inconsistent: ${problems.join('; ')}`, { files: ['manifest.json'] });
}
