/**
 * Continuous batching of the denoising loop. Every render in flight is a DenoiseJob; each
 * iteration runs ONE denoiser call over all active jobs (two rows per job: the conditional
 * branch with the garments' cached K/V, the unconditional one with the per-category zero-
 * reference K/V), then applies guidance and the DDIM update per job. Jobs join and leave
 * between calls without waiting for each other: each row carries its own timestep, and
 * reference slots are padded to the batch's largest slot count with ref_mask = 0.
 *
 * The batch's K/V tensors are assembled only when the batch composition changes (a job joins,
 * leaves, or swaps its references), never per step.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { InferenceError } from './errors';
import { float16ToFloat32 } from './float16';
import type { SeededRandom } from './random';
import type { LayerKV } from './reference-cache';
import type { DdimScheduler } from './scheduler';

/** One reference as a denoiser input: a garment, or a category's unconditional (zero-garment) reference. */
export interface ReferenceEntry {
  /** Equal keys hold equal K/V (a cache's payload sha256, `unconditional:TOP`): a bank stores each key once. */
  key: string;
  /** Per layer, K and V [heads, tokens[i], dim] in float16. */
  layers: readonly LayerKV[];
  /** Per layer, the reference's token count (depends on its category's reference size in format 2). */
  tokens: readonly number[];
}

/** A render's references in slot order: the conditional row's garments and the unconditional row's. */
export interface RenderReferences {
  conditional: readonly ReferenceEntry[];
  unconditional: readonly ReferenceEntry[];
}

/** Attention layer shape (token counts are per reference). */
export interface KvLayerShape {
  heads: number;
  dim: number;
}

/** Format 1: each row's K/V in float32, [rows, heads, slots*tokens, dim] per layer, ref_mask [rows, slots]. */
export interface PerRowReferences {
  kind: 'perRow';
  slots: number;
  k: Float32Array[];
  v: Float32Array[];
  mask: Float32Array;
}

/** Format 2: per layer a float16 bank [heads, bankTokens, dim] and int32 indices [rows, rowTokens] (-1: none). */
export interface BankReferences {
  kind: 'bank';
  bankTokens: number[];
  k: Uint16Array[];
  v: Uint16Array[];
  rowTokens: number[];
  index: Int32Array[];
}

/** Plain-array inputs of one denoiser call (ModelSessions wraps them as tensors). */
export interface DenoiserBatch {
  rows: number;
  sample: Float32Array;
  timestep: Float32Array;
  mask: Float32Array;
  maskedLatent: Float32Array;
  references: PerRowReferences | BankReferences;
  /** Bytes of this call's reference inputs (K/V plus ref_mask or indices). */
  kvBytes: number;
  /** The same call's reference inputs as float32 copies per row (format 1's layout), for comparison. */
  perRowFloat32Bytes: number;
  /** What the K/V inputs are, read off the arrays themselves (diagnostics). */
  kvInputs: KvInputsSummary;
}

export interface KvInputsSummary {
  layout: 'perRow' | 'bank';
  /** Element type of the K/V arrays handed to the graph. */
  dtype: 'float16' | 'float32';
  /** Per layer: tokens in the bank (each distinct reference once); for 'perRow', rows x slots x tokens. */
  storedTokens: number[];
  /** Per layer: tokens each row attends to (padded to the longest row). */
  rowTokens: number[];
}

export interface Denoiser {
  denoise(batch: DenoiserBatch): Promise<Float32Array>;
}

export interface StepOutcome {
  /** Rows in the denoiser call this step ran in (2 per render sharing it). */
  batchRows: number;
  /** 0-based index of the step just completed. */
  stepIndex: number;
  totalSteps: number;
  /** x0 estimate after this step (for previews). */
  predictedOriginal: Float32Array;
  /** Bytes of the reference inputs of the denoiser call this step ran in. */
  kvBytes: number;
  /** The same as float32 copies per row (format 1's layout). */
  perRowFloat32Bytes: number;
  kvInputs: KvInputsSummary;
}

export interface DenoiseJobSpec {
  timesteps: readonly number[];
  /** x_T, [C,h,w]; the job updates it in place of its own copy. */
  initialSample: Float32Array;
  mask: Float32Array;
  maskedLatent: Float32Array;
  guidanceScale: number;
  references: RenderReferences;
  /** Source of the DDIM noise when eta > 0 (the render's own generator). */
  random: SeededRandom;
  /** Called before each of this job's denoiser calls; may return new references (no-cache benchmark mode). */
  refreshReferences?: () => Promise<RenderReferences>;
  onStep?: (outcome: StepOutcome) => void;
  /** True when nobody keeps a step's x0 estimate past onStep (no previews): one buffer serves every step. */
  reuseEstimates?: boolean;
  /** Polled between denoiser calls; true stops the job with CANCELED. */
  isCanceled: () => boolean;
}

interface ActiveJob {
  id: number;
  spec: DenoiseJobSpec;
  sample: Float32Array;
  stepIndex: number;
  references: RenderReferences;
  referencesVersion: number;
  /** The x0 estimate's buffer when the spec allows reusing it. */
  estimate: Float32Array | null;
  resolve: (latent: Float32Array) => void;
  reject: (error: unknown) => void;
}

interface PreparedBatch {
  signature: string;
  inputs: DenoiserBatch;
}

export interface BatcherStats {
  denoiserCalls: number;
  /** Sum over calls of the rows in each call. */
  rows: number;
  /** Batch tensor assemblies (composition changes). */
  assemblies: number;
}

export class ContinuousBatcher {
  private readonly active: ActiveJob[] = [];
  private nextId = 1;
  private looping = false;
  private prepared: PreparedBatch | null = null;
  readonly stats: BatcherStats = { denoiserCalls: 0, rows: 0, assemblies: 0 };

  constructor(
    private readonly denoiser: Denoiser,
    private readonly scheduler: DdimScheduler,
    private readonly layers: readonly KvLayerShape[],
    /** Most jobs (renders) per denoiser call; each job is two rows. */
    private readonly maxJobsPerCall: number,
    /** How the denoiser takes its K/V: 'perRow' (package format 1) or 'bank' (format 2). */
    private readonly layout: 'perRow' | 'bank',
  ) {
    if (!Number.isInteger(maxJobsPerCall) || maxJobsPerCall < 1)
      throw new RangeError(`maxBatch must be a positive integer, got ${maxJobsPerCall}`);
  }

  /** Runs a job's denoising loop alongside the others; resolves with the final latent x_0. */
  run(spec: DenoiseJobSpec): Promise<Float32Array> {
    return new Promise<Float32Array>((resolve, reject) => {
      this.active.push({
        id: this.nextId++,
        spec,
        sample: spec.initialSample.slice(),
        stepIndex: 0,
        references: spec.references,
        referencesVersion: 0,
        estimate: null,
        resolve,
        reject,
      });
      if (!this.looping) {
        this.looping = true;
        // The first call waits one turn of the event loop: renders submitted together (messages
        // already queued) join it, instead of the first one stepping alone.
        setImmediate(() => void this.loop());
      }
    });
  }

  get activeJobs(): number {
    return this.active.length;
  }

  private async loop(): Promise<void> {
    try {
      while (this.active.length > 0) {
        this.dropCanceled();
        const members = this.active.slice(0, this.maxJobsPerCall);
        if (members.length === 0) break;
        try {
          await this.iterate(members);
        } catch (error) {
          // A failing call fails the jobs that were in it; the others go on.
          for (const job of members) this.finish(job, () => job.reject(error));
        }
        // Let queued messages (new renders, cancellations) in between calls.
        await nextTurn();
      }
    } finally {
      this.looping = false;
      this.prepared = null;
    }
  }

  private async iterate(members: ActiveJob[]): Promise<void> {
    for (const job of members) {
      if (job.spec.refreshReferences) {
        job.references = await job.spec.refreshReferences();
        job.referencesVersion++;
      }
    }
    const batch = this.prepare(members);
    const latentSize = members[0]!.sample.length;
    members.forEach((job, j) => {
      const t = job.spec.timesteps[job.stepIndex]!;
      for (const row of [2 * j, 2 * j + 1]) {
        batch.sample.set(job.sample, row * latentSize);
        batch.timestep[row] = t;
      }
    });
    const output = await this.denoiser.denoise(batch);
    this.stats.denoiserCalls++;
    this.stats.rows += batch.rows;

    members.forEach((job, j) => {
      if (job.spec.isCanceled()) return; // dropped at the top of the next iteration
      const conditional = output.subarray(2 * j * latentSize, (2 * j + 1) * latentSize);
      const unconditional = output.subarray((2 * j + 1) * latentSize, (2 * j + 2) * latentSize);
      const { timesteps } = job.spec;
      const t = timesteps[job.stepIndex]!;
      const previousT = job.stepIndex + 1 < timesteps.length ? timesteps[job.stepIndex + 1]! : -1;
      const noise = this.scheduler.isStochastic && previousT >= 0 ? job.spec.random.fillGaussian(new Float32Array(latentSize)) : undefined;
      // Guidance and the update in one pass; the job's own sample is updated in place (element i
      // is read before it is written, and nothing else reads it meanwhile). The x0 estimate is a
      // new array each step when a preview may still be reading the previous one.
      const estimate = job.spec.reuseEstimates ? (job.estimate ??= new Float32Array(latentSize)) : new Float32Array(latentSize);
      const { predictedOriginal } = this.scheduler.guidedStep(
        conditional,
        unconditional,
        job.spec.guidanceScale,
        t,
        previousT,
        job.sample,
        noise,
        {
          previousSample: job.sample,
          predictedOriginal: estimate,
        },
      );
      job.stepIndex++;
      job.spec.onStep?.({
        stepIndex: job.stepIndex - 1,
        totalSteps: timesteps.length,
        predictedOriginal,
        batchRows: batch.rows,
        kvBytes: batch.kvBytes,
        perRowFloat32Bytes: batch.perRowFloat32Bytes,
        kvInputs: batch.kvInputs,
      });
      if (job.stepIndex >= timesteps.length) this.finish(job, () => job.resolve(job.sample));
    });
  }

  private dropCanceled(): void {
    for (const job of [...this.active]) {
      if (job.spec.isCanceled())
        this.finish(job, () =>
          job.reject(new InferenceError('CANCELED', `render canceled after ${job.stepIndex} of ${job.spec.timesteps.length} steps`)),
        );
    }
  }

  private finish(job: ActiveJob, settle: () => void): void {
    const index = this.active.indexOf(job);
    if (index >= 0) this.active.splice(index, 1);
    settle();
  }

  /** Reuses the previous call's tensors unless the batch composition changed. */
  private prepare(members: ActiveJob[]): DenoiserBatch {
    const signature = members.map((job) => `${job.id}.${job.referencesVersion}`).join(',');
    if (this.prepared?.signature === signature) return this.prepared.inputs;
    const inputs = assembleBatch(
      members.map((job) => ({ mask: job.spec.mask, maskedLatent: job.spec.maskedLatent, references: job.references })),
      this.layers,
      this.layout,
    );
    this.stats.assemblies++;
    this.prepared = { signature, inputs };
    return inputs;
  }
}

export interface BatchMember {
  mask: Float32Array;
  maskedLatent: Float32Array;
  references: RenderReferences;
}

/**
 * Lays out the static inputs of a batch: rows (2j, 2j+1) = (conditional, unconditional) of
 * member j, and the references in the denoiser's layout.
 */
export function assembleBatch(members: readonly BatchMember[], layers: readonly KvLayerShape[], layout: 'perRow' | 'bank'): DenoiserBatch {
  const rows = 2 * members.length;
  const first = members[0]!;
  const latentSize = first.maskedLatent.length;
  const maskSize = first.mask.length;
  const mask = new Float32Array(rows * maskSize);
  const maskedLatent = new Float32Array(rows * latentSize);
  members.forEach((member, j) => {
    for (const row of [2 * j, 2 * j + 1]) {
      mask.set(member.mask, row * maskSize);
      maskedLatent.set(member.maskedLatent, row * latentSize);
    }
  });
  const rowEntries = members.flatMap((m) => [m.references.conditional, m.references.unconditional]);
  // Each row attends to all tokens of its references; shorter rows are padded to the longest.
  const rowTokens = layers.map((_, i) => Math.max(...rowEntries.map((entries) => entries.reduce((sum, e) => sum + e.tokens[i]!, 0))));
  const slots = Math.max(...rowEntries.map((entries) => entries.length));
  const perRowFloat32Bytes = layers.reduce((sum, l, i) => sum + 2 * 4 * rows * l.heads * rowTokens[i]! * l.dim, 0) + 4 * rows * slots;
  const references = layout === 'perRow' ? perRowReferences(rowEntries, layers, slots) : bankReferences(rowEntries, layers, rowTokens);
  const kvBytes =
    references.kind === 'perRow'
      ? [...references.k, ...references.v, references.mask].reduce((sum, a) => sum + a.byteLength, 0)
      : [...references.k, ...references.v, ...references.index].reduce((sum, a) => sum + a.byteLength, 0);
  const kvInputs: KvInputsSummary = {
    layout: references.kind,
    dtype: references.k[0] instanceof Uint16Array ? 'float16' : 'float32',
    storedTokens: references.kind === 'bank' ? [...references.bankTokens] : rowTokens.map((t) => rows * t),
    rowTokens: [...rowTokens],
  };
  return {
    rows,
    sample: new Float32Array(rows * latentSize),
    timestep: new Float32Array(rows),
    mask,
    maskedLatent,
    references,
    kvBytes,
    perRowFloat32Bytes,
    kvInputs,
  };
}

/**
 * Format 1: float32 [rows, heads, slots*tokens, dim]; slot s of a row at tokens [s*tokens, (s+1)*tokens), zeros and ref_mask 0 for padding.
 */
function perRowReferences(
  rowEntries: readonly (readonly ReferenceEntry[])[],
  layers: readonly KvLayerShape[],
  slots: number,
): PerRowReferences {
  const rows = rowEntries.length;
  const refMask = new Float32Array(rows * slots);
  rowEntries.forEach((entries, row) => refMask.fill(1, row * slots, row * slots + entries.length));
  const k: Float32Array[] = [];
  const v: Float32Array[] = [];
  layers.forEach((layer, i) => {
    const tokens = rowEntries[0]![0]!.tokens[i]!;
    const block = tokens * layer.dim; // one slot of one head
    const kLayer = new Float32Array(rows * layer.heads * slots * block);
    const vLayer = new Float32Array(kLayer.length);
    rowEntries.forEach((entries, row) => {
      entries.forEach((entry, s) => {
        if (entry.tokens[i] !== tokens)
          throw new InferenceError(
            'INTERNAL',
            `format-1 K/V need one token count per layer; layer ${i} has ${entry.tokens[i]} and ${tokens}`,
          );
        const source = entry.layers[i]!;
        for (let h = 0; h < layer.heads; h++) {
          const target = ((row * layer.heads + h) * slots + s) * block;
          float16ToFloat32(source.k.subarray(h * block, (h + 1) * block), kLayer.subarray(target, target + block));
          float16ToFloat32(source.v.subarray(h * block, (h + 1) * block), vLayer.subarray(target, target + block));
        }
      });
    });
    k.push(kLayer);
    v.push(vLayer);
  });
  return { kind: 'perRow', slots, k, v, mask: refMask };
}

/** Format 2: every distinct reference once per layer in a float16 bank, rows pointing at its tokens. */
function bankReferences(
  rowEntries: readonly (readonly ReferenceEntry[])[],
  layers: readonly KvLayerShape[],
  rowTokens: readonly number[],
): BankReferences {
  const distinct = new Map<string, { entry: ReferenceEntry; offsets: number[] }>();
  const bankTokens = layers.map(() => 0);
  for (const entries of rowEntries) {
    for (const entry of entries) {
      if (distinct.has(entry.key)) continue;
      distinct.set(entry.key, { entry, offsets: [...bankTokens] });
      layers.forEach((_, i) => (bankTokens[i]! += entry.tokens[i]!));
    }
  }
  const rows = rowEntries.length;
  const k: Uint16Array[] = [];
  const v: Uint16Array[] = [];
  const index: Int32Array[] = [];
  layers.forEach((layer, i) => {
    const total = bankTokens[i]!;
    const kBank = new Uint16Array(layer.heads * total * layer.dim);
    const vBank = new Uint16Array(kBank.length);
    for (const { entry, offsets } of distinct.values()) {
      const block = entry.tokens[i]! * layer.dim;
      const source = entry.layers[i]!;
      for (let h = 0; h < layer.heads; h++) {
        const target = (h * total + offsets[i]!) * layer.dim;
        kBank.set(source.k.subarray(h * block, (h + 1) * block), target);
        vBank.set(source.v.subarray(h * block, (h + 1) * block), target);
      }
    }
    const width = rowTokens[i]!;
    const rowIndex = new Int32Array(rows * width).fill(-1);
    rowEntries.forEach((entries, row) => {
      let at = row * width;
      for (const entry of entries) {
        const start = distinct.get(entry.key)!.offsets[i]!;
        for (let t = 0; t < entry.tokens[i]!; t++) rowIndex[at++] = start + t;
      }
    });
    k.push(kBank);
    v.push(vBank);
    index.push(rowIndex);
  });
  return { kind: 'bank', bankTokens, k, v, rowTokens: [...rowTokens], index };
}
