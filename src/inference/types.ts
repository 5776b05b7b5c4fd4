/**
 * The engine's public data types (src/inference/index.ts re-exports them). Plain data only, so
 * every value can cross the worker-thread boundary unchanged.
 */
import type { KvInputsSummary } from './denoise-batcher';
import type { GarmentCategory } from './model-package';

export type { KvInputsSummary } from './denoise-batcher';
export type { GarmentCategory } from './model-package';

export interface EngineOptions {
  /**
   * Folder of the model package (manifest.json + graphs). Every file's sha256 is verified at load; a missing or damaged file fails
   * createEngine with MODEL_FILE_MISSING / MODEL_CHECKSUM_MISMATCH naming it.
   */
  modelDir: string;
  /** onnxruntime intra-op threads of the denoiser and the reference encoder (the VAE and parser graphs always run on one). Default 1. */
  threads?: number;
  /** Most renders that share one denoiser call (each render is two rows: conditional + unconditional). Default 8. */
  maxBatch?: number;
  /**
   * Nice value (0..19) of the inference thread and its onnxruntime threads: 0 (default) is the
   * caller's priority; higher yields the CPU to the rest of the process (an API's event loop)
   * when both want it. Linux only; elsewhere it is ignored (Engine.threadNice is null).
   */
  nice?: number;
  /**
   * Bytes of decoded reference K/V and person encodings kept in the inference thread between
   * renders (least recently used out first); a render whose garments and photo are held reads
   * no blob and decodes nothing. Default 512 MiB; 0 keeps nothing.
   */
  hotCacheBytes?: number;
  /**
   * onnxruntime execution providers in order of preference, e.g. ['cuda', 'cpu']; default
   * ['cpu']. One this installation of onnxruntime-node lacks fails createEngine with
   * EXECUTION_PROVIDER_UNAVAILABLE naming it, unless 'cpu' follows it: then the engine runs on
   * what remains and says so in `Engine.executionProviders` (and `onWarning`).
   */
  executionProviders?: readonly string[];
  /** Told of a requested execution provider that is missing and skipped (the caller logs it). */
  onWarning?: (message: string) => void;
}

export interface ModelIdentity {
  name: string;
  version: string;
  /** "name@version", e.g. "tryon-tiny@1"; stamped into every cache blob. */
  id: string;
}

export interface ReferenceCacheBlob {
  data: Buffer;
  bytes: number;
  /** sha256 hex of `data`. */
  checksum: string;
  computeMs: number;
}

export interface PersonEncodingBlob {
  data: Buffer;
  checksum: string;
  computeMs: number;
}

/**
 * A persisted blob (a garment's reference cache, a person encoding) that the engine may keep
 * decoded in its memory between renders (EngineOptions.hotCacheBytes).
 */
export interface HotBlob {
  /** What the blob is of, the same across versions (e.g. its blob-store key): the engine holds one version per key. */
  key: string;
  /** The content's identity (e.g. the sha256 stored beside the blob): another version replaces the one held. */
  version: string;
  /** Reads the blob's bytes; called only when the engine does not hold `key` at `version`. Its error fails the render unchanged. */
  load: () => Promise<Uint8Array>;
}

export interface RenderGarment {
  category: GarmentCategory;
  /** ReferenceCacheBlob.data. Needed unless `hot` is given; with `hot`, used (and kept) only when the engine does not hold it. */
  cache?: Buffer;
  /** The cache as a blob the engine may hold decoded: a render of held garments reads and decodes nothing. */
  hot?: HotBlob;
}

export interface RenderRequest {
  /** The original photo (PNG/JPEG/WebP); the result has its resolution. */
  personImage: Buffer;
  /** PersonEncodingBlob.data of the same photo. Needed unless `personHot` is given (then used only when the engine does not hold it). */
  person?: Buffer;
  /** The person encoding as a blob the engine may hold decoded (checked against `personImage` at every render). */
  personHot?: HotBlob;
  garments: RenderGarment[];
  steps: number;
  guidanceScale: number;
  /** Safe integer; same seed and inputs give the same bytes on the same machine. */
  seed: number;
  /** Optional mask image (white = repaint) overriding the parsed one; same aspect ratio as the photo. */
  mask?: Buffer;
}

export interface RenderOptions {
  /** Called after every denoising step, in order, before the render resolves. */
  onStep?: (progress: StepProgress) => void;
  /** Aborting stops the render within one step; it then rejects with code CANCELED. */
  signal?: AbortSignal;
  /**
   * Attach a small PNG of the current x0 estimate to step reports (skipped for a step while the
   * previous preview is still being made). A function is asked at the start and after every
   * step: previews are made while it returns true (from the step after it changes).
   */
  previews?: boolean | (() => boolean);
  /**
   * With previews: at least this long (ms) between the starts of two previews; default 0 (as often as they can be made). The first step
   * always has one.
   */
  previewIntervalMs?: number;
}

export interface StepProgress {
  /** 1-based number of the step just completed. */
  step: number;
  totalSteps: number;
  etaMs: number;
  preview?: StepPreview;
}

export interface StepPreview {
  png: Buffer;
  width: number;
  height: number;
}

export interface RenderTimings {
  /** Loading the reference caches and building the concatenated K/V (loads and decodes only for garments the engine does not hold). */
  referenceMs: number;
  /** The denoising loop (shared denoiser calls included). */
  denoiseMs: number;
  /** VAE decode of the final latent. */
  decodeMs: number;
  /** Compositing into the photo and PNG encoding. */
  composeMs: number;
  totalMs: number;
}

export interface RenderResult {
  /** PNG at the original photo's resolution; pixels outside the mask are the photo's own. */
  image: Buffer;
  width: number;
  height: number;
  timings: RenderTimings;
}

/** How a diagnostic render obtains the garments' reference K/V (benchmarks and quality evaluation). */
export type ReferencePolicy =
  /** Atelier: float16 blobs from encodeReference (RenderGarment.cache). */
  | 'persistent'
  /** FastFit: reference_encoder once at render start (conditional and unconditional), float32. */
  | 'perRequest'
  /** In-context models: reference_encoder re-run at every step for every garment, both branches. */
  | 'everyStep';

export interface DiagnosticGarment {
  category: GarmentCategory;
  /** For 'persistent': `cache` or `hot`, as in RenderGarment. */
  cache?: Buffer;
  hot?: HotBlob;
  /** Garment product image; needed for 'perRequest' and 'everyStep'. */
  image?: Buffer;
}

export interface DiagnosticRenderRequest extends Omit<RenderRequest, 'garments'> {
  garments: DiagnosticGarment[];
}

export interface DiagnosticRenderResult extends RenderResult {
  /** Decoder output at model resolution, float32 [3,H,W] in [-1,1], before compositing and rounding. */
  modelImage: Float32Array;
  modelWidth: number;
  modelHeight: number;
  /** The outfit mask at model resolution (1 = pasted from the generated image); the model itself repaints the latent cells it touches. */
  modelMask: Uint8Array;
  /** Largest denoiser call this render took part in, in rows (2 per render): above 2 means it was batched with others. */
  maxBatchRows: number;
  /** Rows of the denoiser call of each step, in order. */
  batchRowsPerStep: number[];
  /** Bytes of the reference inputs (K/V and their indices or masks) of the largest denoiser call this render took part in. */
  maxKvBytesPerCall: number;
  /** What that call's reference inputs would take as float32 copies per row (format 1's layout). */
  perRowFloat32BytesOfThatCall: number;
  /** That call's K/V inputs: layout, element type, tokens stored and tokens per row, per layer. */
  kvInputsOfThatCall: KvInputsSummary | null;
}

export interface BareLoopTiming {
  /** `steps` denoiser calls on ready-made tensors (2 rows per render, `slots` garments). */
  denoiseMs: number;
  /** One vae_decoder call over `renders` latents. */
  decodeMs: number;
}

/** Measurement hooks for scripts/bench-engine.ts and scripts/eval-quality.ts; not needed to serve renders. */
export interface EngineDiagnostics {
  render(request: DiagnosticRenderRequest, policy: ReferencePolicy, options?: RenderOptions): Promise<DiagnosticRenderResult>;
  /**
   * `categories` (default: the model's first category `slots` times) sets each garment's reference size; each render gets its own garments.
   */
  timeBareLoop(shape: { slots: number; steps: number; renders?: number; categories?: GarmentCategory[] }): Promise<BareLoopTiming>;
  /**
   * A garment's per-layer K/V straight from reference_encoder (float32, [heads,tokens,dim] each): the reference a cache is compared with.
   */
  referenceKv(image: Buffer, category: GarmentCategory): Promise<{ k: Float32Array; v: Float32Array }[]>;
}
