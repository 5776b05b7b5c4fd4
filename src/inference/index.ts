/**
 * Public API of Atelier's try-on inference engine: load a model package into a worker thread,
 * encode garments into persistent reference caches and person photos into reusable encodings,
 * and render outfits with a batched, cancelable, deterministic DDIM loop.
 *
 * Only this folder imports onnxruntime-node. It knows nothing of GraphQL, Prisma or tenants.
 */
import { InferenceError } from './errors';
import { DEFAULT_EXECUTION_PROVIDERS, type ExecutionProviderReport } from './execution-providers';
import type { HotCacheStats } from './hot-cache';
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

export { InferenceError, INFERENCE_ERROR_CODES, type InferenceErrorCode } from './errors';
export type { ExecutionProviderReport } from './execution-providers';
export { HotCache, type HotCacheStats } from './hot-cache';
export { GARMENT_CATEGORIES, isGarmentCategory } from './model-package';
export type {
  BareLoopTiming,
  DiagnosticGarment,
  DiagnosticRenderRequest,
  DiagnosticRenderResult,
  EngineDiagnostics,
  EngineOptions,
  GarmentCategory,
  HotBlob,
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
  /** The execution providers asked for, those in use, the one each graph runs on first, and the fallbacks taken. */
  readonly executionProviders: ExecutionProviderReport;
  /**
   * Garment product image -> its persistent reference cache (float16 K/V of every attention layer). INVALID_IMAGE / UNKNOWN_CATEGORY on bad
   * input.
   */
  encodeReference(image: Buffer, category: GarmentCategory): Promise<ReferenceCacheBlob>;
  /**
   * Person photo -> resized pixels, latent and body-part labels, computed once per photo. INVALID_IMAGE / INVALID_IMAGE_SIZE on bad input.
   */
  encodePerson(image: Buffer): Promise<PersonEncodingBlob>;
  /** Renders an outfit onto the photo; INVALID_CACHE for a cache of another model or damaged data, CANCELED when `signal` aborts. */
  render(request: RenderRequest, options?: RenderOptions): Promise<RenderResult>;
  /**
   * Drops what the engine holds decoded of these hot blob keys (a garment archived, a photo deleted); resolves with the entries dropped.
   */
  forget(keys: readonly string[]): Promise<number>;
  /** Entries, bytes, hits, misses (each one blob read and decode), evictions and invalidations of the hot cache. */
  hotCacheStats(): Promise<HotCacheStats>;
  /** Cancels what is in flight, releases the sessions and ends the worker thread. */
  close(): Promise<void>;
  /** Measurement hooks for the benchmark and quality scripts. */
  readonly diagnostics: EngineDiagnostics;
}

/**
 * Default EngineOptions.hotCacheBytes: 512 MiB (about 3,400 garments of tryon-tiny, held as float16 at their blob's size; 15 of a
 * FastFit-size model at 512x384).
 */
export const DEFAULT_HOT_CACHE_BYTES = 512 * 1024 * 1024;

/**
 * Loads a model package in a new worker thread: verifies every file's sha256, opens each graph
 * once, warms up, and computes the unconditional reference K/V of every category.
 * Rejects with MODEL_FILE_MISSING / MODEL_CHECKSUM_MISMATCH naming the file, INVALID_MANIFEST,
 * MODEL_CONTRACT_MISMATCH, or EXECUTION_PROVIDER_UNAVAILABLE naming the provider.
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const threads = options.threads ?? 1;
  const maxBatch = options.maxBatch ?? 8;
  const nice = options.nice ?? 0;
  if (typeof options.modelDir !== 'string' || options.modelDir.length === 0)
    throw new InferenceError('INVALID_REQUEST', 'modelDir is required');
  if (!Number.isInteger(threads) || threads < 1)
    throw new InferenceError('INVALID_REQUEST', `threads must be a positive integer, got ${threads}`);
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new InferenceError('INVALID_REQUEST', `maxBatch must be a positive integer, got ${maxBatch}`);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19)
    throw new InferenceError('INVALID_REQUEST', `nice must be an integer in 0..19, got ${nice}`);
  const hotCacheBytes = options.hotCacheBytes ?? DEFAULT_HOT_CACHE_BYTES;
  if (!Number.isSafeInteger(hotCacheBytes) || hotCacheBytes < 0)
    throw new InferenceError('INVALID_REQUEST', `hotCacheBytes must be a non-negative integer, got ${hotCacheBytes}`);
  const executionProviders = [...(options.executionProviders ?? DEFAULT_EXECUTION_PROVIDERS)];
  if (executionProviders.length === 0 || !executionProviders.every((p) => typeof p === 'string' && /^[a-z][a-z0-9_]*$/.test(p))) {
    throw new InferenceError(
      'INVALID_REQUEST',
      `executionProviders must be provider names such as cuda or cpu, got ${JSON.stringify(executionProviders)}`,
    );
  }
  const engine = await WorkerEngine.start({ modelDir: options.modelDir, threads, maxBatch, nice, hotCacheBytes, executionProviders });
  for (const warning of engine.executionProviders.warnings) options.onWarning?.(warning);
  return engine;
}
