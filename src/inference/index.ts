/**
 * Public API of Atelier's try-on inference engine: load a model package into a worker thread,
 * encode garments into persistent reference caches and person photos into reusable encodings,
 * and render outfits with a batched, cancelable, deterministic DDIM loop.
 *
 * Only this folder imports onnxruntime-node. It knows nothing of GraphQL, Prisma or tenants.
 */
import { InferenceError } from './errors';
import type {
  EngineDiagnostics,
  EngineOptions,
  GarmentCategory,
  ModelIdentity,
  PersonEncodingBlob,
  ReferenceCacheBlob,
  RenderOptions,
  RenderRequest,
  RenderResult,
} from './types';
import { WorkerEngine } from './worker-engine';

export { InferenceError, type InferenceErrorCode } from './errors';
export { GARMENT_CATEGORIES, isGarmentCategory } from './model-package';
export type {
  BareLoopTiming,
  DiagnosticGarment,
  DiagnosticRenderRequest,
  DiagnosticRenderResult,
  EngineDiagnostics,
  EngineOptions,
  GarmentCategory,
  ModelIdentity,
  PersonEncodingBlob,
  ReferenceCacheBlob,
  ReferencePolicy,
  RenderGarment,
  RenderOptions,
  RenderRequest,
  RenderResult,
  RenderTimings,
  StepPreview,
  StepProgress,
} from './types';

export interface Engine {
  readonly model: ModelIdentity;
  /** The inference thread's nice value as the OS reports it after start; null where it cannot be set per thread. */
  readonly threadNice: number | null;
  /** Garment product image -> its persistent reference cache (float16 K/V of every attention layer). INVALID_IMAGE / UNKNOWN_CATEGORY on bad input. */
  encodeReference(image: Buffer, category: GarmentCategory): Promise<ReferenceCacheBlob>;
  /** Person photo -> resized pixels, latent and body-part labels, computed once per photo. INVALID_IMAGE / INVALID_IMAGE_SIZE on bad input. */
  encodePerson(image: Buffer): Promise<PersonEncodingBlob>;
  /** Renders an outfit onto the photo; INVALID_CACHE for a cache of another model or damaged data, CANCELED when `signal` aborts. */
  render(request: RenderRequest, options?: RenderOptions): Promise<RenderResult>;
  /** Cancels what is in flight, releases the sessions and ends the worker thread. */
  close(): Promise<void>;
  /** Measurement hooks for the benchmark and quality scripts. */
  readonly diagnostics: EngineDiagnostics;
}

/**
 * Loads a model package in a new worker thread: verifies every file's sha256, opens each graph
 * once, warms up, and computes the unconditional reference K/V of every category.
 * Rejects with MODEL_FILE_MISSING / MODEL_CHECKSUM_MISMATCH naming the file, INVALID_MANIFEST,
 * or MODEL_CONTRACT_MISMATCH.
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const threads = options.threads ?? 1;
  const maxBatch = options.maxBatch ?? 8;
  const nice = options.nice ?? 0;
  if (typeof options.modelDir !== 'string' || options.modelDir.length === 0) throw new InferenceError('INVALID_REQUEST', 'modelDir is required');
  if (!Number.isInteger(threads) || threads < 1) throw new InferenceError('INVALID_REQUEST', `threads must be a positive integer, got ${threads}`);
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new InferenceError('INVALID_REQUEST', `maxBatch must be a positive integer, got ${maxBatch}`);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new InferenceError('INVALID_REQUEST', `nice must be an integer in 0..19, got ${nice}`);
  return WorkerEngine.start({ modelDir: options.modelDir, threads, maxBatch, nice });
}
