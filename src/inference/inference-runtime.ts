/**
 * InferenceRuntime: everything that happens inside the engine's worker thread. Loads and
 * verifies a package, holds the sessions, the unconditional (zero-reference) K/V of every
 * category, and the continuous batcher; turns requests into tensors and tensors into PNGs.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sha256Hex } from './blob-envelope';
import {
  assembleBatch,
  ContinuousBatcher,
  type DenoiseJobSpec,
  type ReferenceEntry,
  type RenderReferences,
  type StepOutcome,
} from './denoise-batcher';
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
import { categoryIndex, readModelPackage, type ModelManifest, type ModelPackage, type ReferenceLayout } from './model-package';
import { ModelSessions, type GraphLayerKV } from './model-sessions';
import { deserializePersonEncoding, serializePersonEncoding, type PersonEncoding } from './person-encoding';
import { SeededRandom } from './random';
import { RecentEntries } from './recent-entries';
import {
  deserializeReferenceCache,
  serializeReferenceCache,
  toHalfLayer,
  widenLayer,
  type LayerKVFloat32,
  type LoadedReferenceCache,
} from './reference-cache';
import { DdimScheduler } from './scheduler';
import { resolveExecutionProviders, type ExecutionProviderReport } from './execution-providers';
import { HotCache, retainedBytes, type HotCacheStats } from './hot-cache';
import type {
  BareLoopTiming,
  DiagnosticGarment,
  DiagnosticRenderRequest,
  DiagnosticRenderResult,
  HotBlob,
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
  /** Bytes of decoded K/V and person encodings kept between renders (0: none). */
  hotCacheBytes: number;
  /** onnxruntime execution providers in order of preference (see execution-providers.ts). */
  executionProviders: readonly string[];
}

/** A HotBlob as it crosses into the worker: its loader stays with the caller (RenderHooks.loadBlobs). */
export type HotBlobRef = Pick<HotBlob, 'key' | 'version'>;

/** A render request inside the worker: hot blobs are references, loaded through the hooks when not held. */
export interface RuntimeRenderRequest extends Omit<DiagnosticRenderRequest, 'garments' | 'personHot'> {
  garments: (Omit<DiagnosticGarment, 'hot'> & { hot?: HotBlobRef })[];
  personHot?: HotBlobRef;
}

/** Names of a render's blobs that the caller loads on request: 'person', 'garment:<index>'. */
export type HotBlobName = 'person' | `garment:${number}`;

export interface RenderHooks {
  onStep?: (progress: StepProgress) => void;
  isCanceled: () => boolean;
  previews: boolean;
  previewIntervalMs: number;
  /** Reads the named hot blobs of this render (those the engine does not hold), in one round trip. */
  loadBlobs?: (names: HotBlobName[]) => Promise<Uint8Array[]>;
}

/** What the hot cache holds per garment cache and per person encoding. */
type HotValue = { kind: 'reference'; cache: LoadedReferenceCache } | { kind: 'person'; encoding: PersonEncoding };
const hotKey = (kind: HotValue['kind'], key: string): string => `${kind}:${key}`;

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
  conditional: ReferenceEntry;
  unconditional: ReferenceEntry;
  /** Set for 'everyStep': recompute both from these latents at every step. */
  latent?: Float32Array;
}

export class InferenceRuntime {
  readonly model: ModelIdentity;
  private readonly manifest: ModelManifest;
  private readonly batcher: ContinuousBatcher;
  /** Outfit masks and masked latents of recent (photo, categories) pairs; read-only once made. */
  private readonly recentOutfitInputs = new RecentEntries<string, OutfitInputs>(RECENT_OUTFIT_INPUTS);
  /** Each category's reference size and K/V layout (format 2: shoes and bags differ from clothing). */
  private readonly referenceLayouts: ReadonlyMap<string, ReferenceLayout>;
  private readonly kvLayers: ModelPackage['kvLayers'];
  /** K/V computed in this process (per-request and every-step diagnostics): unique bank keys. */
  private computedReferences = 0;
  /** Recent VAE-decode duration, for ETAs. */
  private lastDecodeMs = 0;
  /** Decoded reference K/V and person encodings shared by every render of this engine, checked once when loaded. */
  private readonly hot: HotCache<HotValue>;

  private constructor(
    pkg: ModelPackage,
    private readonly sessions: ModelSessions,
    private readonly scheduler: DdimScheduler,
    /** reference_encoder(zeros, category) per category: the classifier-free-guidance branch, computed once at load. */
    private readonly unconditionalByCategory: ReadonlyMap<string, ReferenceEntry>,
    maxBatch: number,
    hotCacheBytes: number,
    readonly executionProviders: ExecutionProviderReport,
  ) {
    this.hot = new HotCache<HotValue>(hotCacheBytes);
    this.manifest = pkg.manifest;
    this.model = { name: pkg.manifest.name, version: pkg.manifest.version, id: pkg.id };
    this.referenceLayouts = pkg.references;
    this.kvLayers = pkg.kvLayers;
    this.batcher = new ContinuousBatcher(sessions, scheduler, pkg.kvLayers, maxBatch, pkg.format === 1 ? 'perRow' : 'bank');
  }

  static async load(options: RuntimeOptions): Promise<InferenceRuntime> {
    const pkg = await readModelPackage(options.modelDir);
    checkManifestConsistency(pkg);
    const providers = await resolveExecutionProviders(options.executionProviders, path.join(pkg.dir, 'vae_decoder.onnx'));
    const warnings = [...providers.warnings];
    const sessions = await ModelSessions.open(pkg, options.threads, providers.used, (warning) => warnings.push(warning));
    try {
      const scheduler = new DdimScheduler(pkg.manifest.scheduler);
      const unconditional = new Map<string, ReferenceEntry>();
      for (const [id, category] of pkg.manifest.categories.entries()) {
        const layout = pkg.references.get(category)!;
        const kv = await sessions.encodeReference(zeroLatent(pkg.manifest, layout), id, layout);
        unconditional.set(category, referenceEntry(`unconditional:${category}`, kv, layout));
      }
      const report: ExecutionProviderReport = {
        requested: [...options.executionProviders],
        used: providers.used,
        graphs: { ...sessions.graphProviders },
        warnings,
      };
      const runtime = new InferenceRuntime(pkg, sessions, scheduler, unconditional, options.maxBatch, options.hotCacheBytes, report);
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
    const cache = serializeReferenceCache(
      { modelId: this.model.id, category, layers: [...this.unconditional(category).layers] },
      this.referenceLayout(category).layers,
    );
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
    const data = serializeReferenceCache(
      { modelId: this.model.id, category, layers: [...conditional.layers] },
      this.referenceLayout(category).layers,
    );
    return { data, computeMs: performance.now() - started };
  }

  /** The garment at its category's reference size (letterboxed on white), through vae_encoder. */
  private async garmentLatent(image: Uint8Array, category: string): Promise<Float32Array> {
    const layout = this.referenceLayout(category);
    const decoded = await decodeImage(image, 'garment image');
    const resized = await resizeRgb(decoded, layout.width, layout.height, 'contain');
    return this.sessions.vaeEncodeReference(rgbToChw(resized), layout);
  }

  private async computeGarmentReferences(
    category: string,
    image: Uint8Array | undefined,
  ): Promise<GarmentReferences & { latent: Float32Array; graphOutput: GraphLayerKV[] }> {
    const id = categoryIndex(this.manifest, category);
    if (image === undefined) throw new InferenceError('INVALID_REQUEST', `a ${category} garment has no image to encode`);
    const latent = await this.garmentLatent(image, category);
    const layout = this.referenceLayout(category);
    const graphOutput = await this.sessions.encodeReference(latent, id, layout);
    return {
      category,
      latent,
      graphOutput,
      conditional: referenceEntry(`computed:${++this.computedReferences}`, graphOutput, layout),
      unconditional: this.unconditional(category),
    };
  }

  private referenceLayout(category: string): ReferenceLayout {
    const layout = this.referenceLayouts.get(category);
    if (layout === undefined) categoryIndex(this.manifest, category); // throws UNKNOWN_CATEGORY
    return layout!;
  }

  private unconditional(category: string): ReferenceEntry {
    const entry = this.unconditionalByCategory.get(category);
    if (entry === undefined) categoryIndex(this.manifest, category); // throws UNKNOWN_CATEGORY
    return entry!;
  }

  /** reference_encoder(zeros, category) computed now (FastFit's per-request unconditional branch). */
  private async freshUnconditional(category: string): Promise<ReferenceEntry> {
    const layout = this.referenceLayout(category);
    const kv = await this.sessions.encodeReference(zeroLatent(this.manifest, layout), categoryIndex(this.manifest, category), layout);
    return referenceEntry(`computed:${++this.computedReferences}`, kv, layout);
  }

  private renderReferences(garments: readonly GarmentReferences[]): RenderReferences {
    return { conditional: garments.map((g) => g.conditional), unconditional: garments.map((g) => g.unconditional) };
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
    const labels = this.sessions.hasParser
      ? labelsFromLogits(await this.sessions.parse(chw), this.manifest.parser!.labels.length, width, height)
      : null;
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

  async render(request: RuntimeRenderRequest, policy: ReferencePolicy, hooks: RenderHooks): Promise<DiagnosticRenderResult> {
    const started = performance.now();
    const { steps, guidanceScale, seed } = validateRenderParameters(request, this.scheduler.trainTimesteps);
    const maxGarments = this.manifest.maxGarments ?? 5;
    if (!Array.isArray(request.garments) || request.garments.length === 0 || request.garments.length > maxGarments) {
      throw new InferenceError(
        'INVALID_REQUEST',
        `a render needs 1 to ${maxGarments} garments, got ${Array.isArray(request.garments) ? request.garments.length : 'none'}`,
      );
    }
    for (const garment of request.garments) categoryIndex(this.manifest, garment.category);

    if (!(request.personImage instanceof Uint8Array)) throw new InferenceError('INVALID_REQUEST', 'personImage must be image bytes');
    // The person encoding and the garments' caches: from memory when held, else in one round trip to the caller.
    const referenceStarted = performance.now();
    const { person, references: heldReferences } = await this.personAndReferences(request, policy, hooks);
    if (sha256Hex(request.personImage) !== person.photo.sha256) {
      throw new InferenceError('INVALID_CACHE', 'person encoding belongs to another photo than personImage; encode this photo first');
    }
    // Decoding the full-size photo is only needed for compositing: start it now, await it at the end.
    const originalPromise = decodeImage(request.personImage, 'person photo');
    originalPromise.catch(() => undefined);

    if (hooks.isCanceled()) throw canceled(0, steps);
    const garments = await this.loadGarmentReferences(request.garments, policy, heldReferences);
    const references = this.renderReferences(garments);
    const referenceMs = performance.now() - referenceStarted;

    const { pixelMask, compositeMask, latentMask, maskedLatent } = await this.outfitInputs(request, person);
    const { channels, height: lh, width: lw } = this.manifest.latent;

    const random = new SeededRandom(seed);
    const initialSample = random.fillGaussian(new Float32Array(channels * lh * lw));
    const timesteps = this.scheduler.timesteps(steps);
    if (hooks.isCanceled()) throw canceled(0, steps);

    const { finalLatent, denoiseMs, batchRowsPerStep, largestCall } = await this.denoise(
      { timesteps, initialSample, mask: latentMask, maskedLatent, guidanceScale, references, random },
      { steps, garments, policy, hooks },
    );

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
      maxKvBytesPerCall: largestCall?.kvBytes ?? 0,
      perRowFloat32BytesOfThatCall: largestCall?.perRowFloat32Bytes ?? 0,
      kvInputsOfThatCall: largestCall?.kvInputs ?? null,
    };
  }

  /** A render's denoising loop (batched with other renders by the batcher), reporting each step as it ends. */
  private async denoise(
    spec: Pick<DenoiseJobSpec, 'timesteps' | 'initialSample' | 'mask' | 'maskedLatent' | 'guidanceScale' | 'references' | 'random'>,
    render: { steps: number; garments: readonly GarmentReferences[]; policy: ReferencePolicy; hooks: RenderHooks },
  ): Promise<{ finalLatent: Float32Array; denoiseMs: number; batchRowsPerStep: number[]; largestCall: StepOutcome | null }> {
    const { steps, garments, policy, hooks } = render;
    const progress = new ProgressReporter(this, hooks, steps, () => this.lastDecodeMs);
    const denoiseStarted = performance.now();
    const batchRowsPerStep: number[] = [];
    let largestCall = null as StepOutcome | null; // the denoiser call with the most K/V bytes
    let finalLatent: Float32Array;
    try {
      finalLatent = await this.batcher.run({
        ...spec,
        isCanceled: hooks.isCanceled,
        // Only a preview keeps a step's x0 estimate beyond its report.
        reuseEstimates: !hooks.previews,
        onStep: (outcome) => {
          batchRowsPerStep.push(outcome.batchRows);
          if (largestCall === null || outcome.kvBytes > largestCall.kvBytes) largestCall = outcome;
          progress.report(outcome.stepIndex + 1, outcome.predictedOriginal);
        },
        refreshReferences:
          policy === 'everyStep'
            ? async () => this.renderReferences(await Promise.all(garments.map((g) => this.recomputeGarmentReferences(g))))
            : undefined,
      });
    } finally {
      await progress.flushed();
    }
    return { finalLatent, denoiseMs: performance.now() - denoiseStarted, batchRowsPerStep, largestCall };
  }

  /**
   * The render's person encoding and (persistent policy) its garments' conditional K/V: taken
   * from the hot cache when held (pinned for this render, whatever is evicted meanwhile), else
   * decoded and checked from the bytes the request carries or, for hot blobs, read through the
   * caller in one round trip, then held. Nothing is read or decoded for held garments and photos.
   */
  private async personAndReferences(
    request: RuntimeRenderRequest,
    policy: ReferencePolicy,
    hooks: RenderHooks,
  ): Promise<{ person: PersonEncoding; references: (LoadedReferenceCache | null)[] }> {
    const checkRef = (ref: HotBlobRef | undefined): void => {
      if (ref !== undefined && (typeof ref.key !== 'string' || typeof ref.version !== 'string'))
        throw new InferenceError('INVALID_REQUEST', 'a hot blob needs a string key and version');
    };
    checkRef(request.personHot);
    for (const garment of request.garments) checkRef(garment.hot);
    const heldPerson = request.personHot && this.hot.get(hotKey('person', request.personHot.key), request.personHot.version);
    let person = heldPerson?.kind === 'person' ? heldPerson.encoding : null;
    const references = request.garments.map((garment): LoadedReferenceCache | null => {
      if (policy !== 'persistent' || garment.hot === undefined) return null;
      const held = this.hot.get(hotKey('reference', garment.hot.key), garment.hot.version);
      if (held?.kind !== 'reference') return null;
      if (held.cache.category !== garment.category)
        throw new InferenceError(
          'INVALID_CACHE',
          `reference cache holds a ${held.cache.category} garment, the request says ${garment.category}`,
        );
      return held.cache;
    });

    const names: HotBlobName[] = [];
    if (person === null && request.person === undefined) {
      if (request.personHot === undefined) throw new InferenceError('INVALID_CACHE', 'the render has no person encoding');
      names.push('person');
    }
    if (policy === 'persistent') {
      request.garments.forEach((garment, i) => {
        if (references[i] !== null || garment.cache !== undefined) return;
        if (garment.hot === undefined) throw new InferenceError('INVALID_CACHE', `the ${garment.category} garment has no reference cache`);
        names.push(`garment:${i}`);
      });
    }
    let loaded = new Map<HotBlobName, Uint8Array>();
    if (names.length > 0) {
      if (hooks.loadBlobs === undefined)
        throw new InferenceError('INVALID_REQUEST', 'hot blobs that the engine does not hold need a loader');
      const blobs = await hooks.loadBlobs(names);
      loaded = new Map(names.map((name, i) => [name, blobs[i]!]));
    }

    if (person === null) {
      const bytes = loaded.get('person') ?? request.person;
      if (!(bytes instanceof Uint8Array)) throw new InferenceError('INVALID_CACHE', 'the render has no person encoding');
      person = deserializePersonEncoding(bytes, this.model.id);
      // The encoding's arrays are views of the blob: what stays held is the blob's whole buffer.
      if (request.personHot)
        this.hot.set(
          hotKey('person', request.personHot.key),
          request.personHot.version,
          { kind: 'person', encoding: person },
          retainedBytes([person.latent, person.pixels, person.labels]),
        );
    }
    if (policy === 'persistent') {
      request.garments.forEach((garment, i) => {
        if (references[i] !== null) return;
        const bytes = loaded.get(`garment:${i}`) ?? garment.cache;
        if (!(bytes instanceof Uint8Array))
          throw new InferenceError('INVALID_CACHE', `the ${garment.category} garment has no reference cache`);
        // Envelope checksum, model, layer layout (this category's, format 2) and category: checked here, once.
        const cache = deserializeReferenceCache(bytes, this.model.id, this.referenceLayout(garment.category).layers, garment.category);
        // Float16 views of the blob, held as they are: the bytes held are the buffers they view.
        if (garment.hot)
          this.hot.set(
            hotKey('reference', garment.hot.key),
            garment.hot.version,
            { kind: 'reference', cache },
            retainedBytes(cache.layers.flatMap((layer) => [layer.k, layer.v])),
          );
        references[i] = cache;
      });
    }
    return { person, references };
  }

  /** Drops what the hot cache holds of these blob keys (a garment archived, a photo deleted). */
  forget(keys: readonly string[]): number {
    let dropped = 0;
    for (const key of keys) for (const kind of ['reference', 'person'] as const) if (this.hot.delete(hotKey(kind, key))) dropped++;
    return dropped;
  }

  hotCacheStats(): HotCacheStats {
    return this.hot.stats();
  }

  private async loadGarmentReferences(
    garments: RuntimeRenderRequest['garments'],
    policy: ReferencePolicy,
    persistent: readonly (LoadedReferenceCache | null)[],
  ): Promise<GarmentReferences[]> {
    const result: GarmentReferences[] = [];
    for (const [index, garment] of garments.entries()) {
      if (policy === 'persistent') {
        // Decoded and checked once (personAndReferences), or held decoded by the hot cache.
        const cache = persistent[index]!;
        const conditional: ReferenceEntry = {
          key: `cache:${garment.category}:${cache.payloadSha256}`,
          layers: cache.layers,
          tokens: this.referenceLayout(garment.category).layers.map((l) => l.tokens),
        };
        result.push({ category: garment.category, conditional, unconditional: this.unconditional(garment.category) });
      } else if (policy === 'everyStep') {
        // The first refresh (before step 1) computes both branches; until then the load-time K/V hold the slot.
        if (garment.image === undefined)
          throw new InferenceError('INVALID_REQUEST', `a ${garment.category} garment has no image to encode`);
        const unconditional = this.unconditional(garment.category);
        result.push({
          category: garment.category,
          latent: await this.garmentLatent(garment.image, garment.category),
          conditional: unconditional,
          unconditional,
        });
      } else {
        const computed = await this.computeGarmentReferences(garment.category, garment.image);
        // As FastFit does per request: the unconditional K/V are computed here too, not taken from the load-time cache.
        computed.unconditional = await this.freshUnconditional(garment.category);
        result.push(computed);
      }
    }
    return result;
  }

  private async recomputeGarmentReferences(garment: GarmentReferences): Promise<GarmentReferences> {
    const layout = this.referenceLayout(garment.category);
    const kv = await this.sessions.encodeReference(garment.latent!, categoryIndex(this.manifest, garment.category), layout);
    return {
      ...garment,
      conditional: referenceEntry(`computed:${++this.computedReferences}`, kv, layout),
      unconditional: await this.freshUnconditional(garment.category),
    };
  }

  /**
   * The outfit's masks and the masked person latent. Those made from the photo's labels depend
   * only on the photo and the outfit's categories, and a shopper renders one photo with many
   * outfits of the same categories: they are kept for the most recent pairs.
   */
  private async outfitInputs(request: RuntimeRenderRequest, person: PersonEncoding): Promise<OutfitInputs> {
    const key =
      request.mask === undefined
        ? `${person.photo.sha256}:${request.garments
            .map((g) => g.category)
            .sort()
            .join(',')}`
        : null;
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
  private async outfitMasks(
    request: RuntimeRenderRequest,
    person: PersonEncoding,
  ): Promise<{ pixelMask: Uint8Array; compositeMask: Uint8Array | null }> {
    if (request.mask !== undefined) {
      if (!(request.mask instanceof Uint8Array)) throw new InferenceError('INVALID_MASK', 'mask must be image bytes');
      const size = await imageSize(request.mask, 'mask', 'INVALID_MASK');
      const photoAspect = person.photo.width / person.photo.height;
      if (Math.abs(size.width / size.height / photoAspect - 1) > 0.02) {
        throw new InferenceError(
          'INVALID_MASK',
          `mask ${size.width}x${size.height} does not have the photo's aspect ratio (${person.photo.width}x${person.photo.height})`,
        );
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
    return {
      pixelMask: outfitMaskFromLabels(person.labels, person.width, person.height, categories, this.manifest.parser),
      compositeMask: null,
    };
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
  async referenceKv(image: Uint8Array, category: string): Promise<LayerKVFloat32[]> {
    const { graphOutput } = await this.computeGarmentReferences(category, image);
    return graphOutput.map((layer) =>
      layer.k instanceof Float32Array && layer.v instanceof Float32Array
        ? { k: layer.k, v: layer.v }
        : widenLayer(toHalfLayer(layer.k, layer.v)),
    );
  }

  /** Times `steps` bare denoiser calls and one decode on ready-made tensors of a render's shape. */
  async timeBareLoop(shape: { slots: number; steps: number; renders?: number; categories?: readonly string[] }): Promise<BareLoopTiming> {
    const renders = shape.renders ?? 1;
    const { channels, height, width } = this.manifest.latent;
    const latentSize = channels * height * width;
    const random = new SeededRandom(1);
    const categories = shape.categories ?? Array.from({ length: shape.slots }, () => this.manifest.categories[0]!);
    // Every render wears its own garments (distinct bank entries), as renders of different outfits do.
    const members = Array.from({ length: renders }, (_, r) => {
      const garments = categories.map((category, s) => {
        const unconditional = this.unconditional(category);
        return { category, conditional: { ...unconditional, key: `bare:${r}:${s}` }, unconditional };
      });
      return {
        mask: new Float32Array(height * width).fill(1),
        maskedLatent: random.fillGaussian(new Float32Array(latentSize)),
        references: this.renderReferences(garments),
      };
    });
    const batch = assembleBatch(members, this.kvLayers, this.manifest.format === 1 ? 'perRow' : 'bank');
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
      onStep(
        made === undefined ? { step, totalSteps: this.totalSteps, etaMs } : { step, totalSteps: this.totalSteps, etaMs, preview: made },
      );
    });
  }

  flushed(): Promise<void> {
    return this.chain;
  }
}

function canceled(step: number, total: number): InferenceError {
  return new InferenceError('CANCELED', `render canceled after ${step} of ${total} steps`);
}

function validateRenderParameters(
  request: RuntimeRenderRequest,
  trainTimesteps: number,
): { steps: number; guidanceScale: number; seed: number } {
  const { steps, guidanceScale, seed } = request;
  if (!Number.isInteger(steps) || steps < 1 || steps > trainTimesteps)
    throw new InferenceError('INVALID_REQUEST', `steps must be an integer in 1..${trainTimesteps}, got ${steps}`);
  if (typeof guidanceScale !== 'number' || !Number.isFinite(guidanceScale) || guidanceScale < 0 || guidanceScale > 50) {
    throw new InferenceError('INVALID_REQUEST', `guidanceScale must be a number in 0..50, got ${guidanceScale}`);
  }
  if (!Number.isSafeInteger(seed)) throw new InferenceError('INVALID_REQUEST', `seed must be a safe integer, got ${seed}`);
  return { steps, guidanceScale, seed };
}

/** A category's all-zero garment latent: the unconditional (dropped) reference. */
function zeroLatent(manifest: ModelManifest, layout: ReferenceLayout): Float32Array {
  return new Float32Array(manifest.latent.channels * layout.latentHeight * layout.latentWidth);
}

/** A bank entry of float16 K/V (format-1 graphs return float32, narrowed once here). */
function referenceEntry(key: string, kv: readonly GraphLayerKV[], layout: ReferenceLayout): ReferenceEntry {
  return { key, layers: kv.map((layer) => toHalfLayer(layer.k, layer.v)), tokens: layout.layers.map((l) => l.tokens) };
}

function checkManifestConsistency(pkg: ModelPackage): void {
  const { person, latent, parser, categories } = pkg.manifest;
  const problems: string[] = [];
  if (latent.width * latent.downscale !== person.width || latent.height * latent.downscale !== person.height) {
    problems.push(`latent ${latent.width}x${latent.height} x${latent.downscale} does not match person ${person.width}x${person.height}`);
  }
  if (parser)
    for (const category of categories)
      if (!(category in parser.categoryMask)) problems.push(`parser.categoryMask has no rule for ${category}`);
  if (problems.length > 0)
    throw new InferenceError('INVALID_MANIFEST', `model package ${pkg.dir}: manifest.json is inconsistent: ${problems.join('; ')}`, {
      files: ['manifest.json'],
    });
}
