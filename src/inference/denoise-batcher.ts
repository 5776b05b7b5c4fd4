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
import type { KvLayerLayout } from './model-package';
import type { SeededRandom } from './random';
import type { DdimScheduler } from './scheduler';

/** A job's references, concatenated per layer along tokens: [heads, slots*tokens, dim]. */
export interface SlotReferences {
  slots: number;
  conditional: { k: Float32Array; v: Float32Array }[];
  unconditional: { k: Float32Array; v: Float32Array }[];
}

/** Plain-array inputs of one denoiser call (ModelSessions wraps them as tensors). */
export interface DenoiserBatch {
  rows: number;
  slots: number;
  sample: Float32Array;
  timestep: Float32Array;
  mask: Float32Array;
  maskedLatent: Float32Array;
  refK: Float32Array[];
  refV: Float32Array[];
  refMask: Float32Array;
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
}

export interface DenoiseJobSpec {
  timesteps: readonly number[];
  /** x_T, [C,h,w]; the job updates it in place of its own copy. */
  initialSample: Float32Array;
  mask: Float32Array;
  maskedLatent: Float32Array;
  guidanceScale: number;
  references: SlotReferences;
  /** Source of the DDIM noise when eta > 0 (the render's own generator). */
  random: SeededRandom;
  /** Called before each of this job's denoiser calls; may return new references (no-cache benchmark mode). */
  refreshReferences?: () => Promise<SlotReferences>;
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
  references: SlotReferences;
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
    private readonly layers: readonly KvLayerLayout[],
    /** Most jobs (renders) per denoiser call; each job is two rows. */
    private readonly maxJobsPerCall: number,
  ) {
    if (!Number.isInteger(maxJobsPerCall) || maxJobsPerCall < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxJobsPerCall}`);
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
      const { predictedOriginal } = this.scheduler.guidedStep(conditional, unconditional, job.spec.guidanceScale, t, previousT, job.sample, noise, {
        previousSample: job.sample,
        predictedOriginal: estimate,
      });
      job.stepIndex++;
      job.spec.onStep?.({ stepIndex: job.stepIndex - 1, totalSteps: timesteps.length, predictedOriginal, batchRows: batch.rows });
      if (job.stepIndex >= timesteps.length) this.finish(job, () => job.resolve(job.sample));
    });
  }

  private dropCanceled(): void {
    for (const job of [...this.active]) {
      if (job.spec.isCanceled()) this.finish(job, () => job.reject(new InferenceError('CANCELED', `render canceled after ${job.stepIndex} of ${job.spec.timesteps.length} steps`)));
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
    );
    this.stats.assemblies++;
    this.prepared = { signature, inputs };
    return inputs;
  }
}

export interface BatchMember {
  mask: Float32Array;
  maskedLatent: Float32Array;
  references: SlotReferences;
}

/**
 * Lays out the static inputs of a batch: rows (2j, 2j+1) = (conditional, unconditional) of
 * member j; K/V padded to the largest slot count with zeros and ref_mask 0.
 */
export function assembleBatch(members: readonly BatchMember[], layers: readonly KvLayerLayout[]): DenoiserBatch {
  const rows = 2 * members.length;
  const slots = Math.max(...members.map((m) => m.references.slots));
  const first = members[0]!;
  const latentSize = first.maskedLatent.length;
  const maskSize = first.mask.length;
  const mask = new Float32Array(rows * maskSize);
  const maskedLatent = new Float32Array(rows * latentSize);
  const refMask = new Float32Array(rows * slots);
  members.forEach((member, j) => {
    for (const row of [2 * j, 2 * j + 1]) {
      mask.set(member.mask, row * maskSize);
      maskedLatent.set(member.maskedLatent, row * latentSize);
      refMask.fill(1, row * slots, row * slots + member.references.slots);
    }
  });
  const refK: Float32Array[] = [];
  const refV: Float32Array[] = [];
  layers.forEach((layer, i) => {
    const headBlock = layer.tokens * layer.dim; // one slot of one head
    const k = new Float32Array(rows * layer.heads * slots * headBlock);
    const v = new Float32Array(k.length);
    members.forEach((member, j) => {
      const own = member.references.slots * headBlock;
      const branches = [member.references.conditional[i]!, member.references.unconditional[i]!];
      branches.forEach((branch, b) => {
        const row = 2 * j + b;
        for (let h = 0; h < layer.heads; h++) {
          const target = (row * layer.heads + h) * slots * headBlock;
          k.set(branch.k.subarray(h * own, (h + 1) * own), target);
          v.set(branch.v.subarray(h * own, (h + 1) * own), target);
        }
      });
    });
    refK.push(k);
    refV.push(v);
  });
  return {
    rows,
    slots,
    sample: new Float32Array(rows * latentSize),
    timestep: new Float32Array(rows),
    mask,
    maskedLatent,
    refK,
    refV,
    refMask,
  };
}

/**
 * Concatenates per-garment K/V ([heads,tokens,dim] each) along tokens into one
 * [heads, slots*tokens, dim] tensor per layer: slot s occupies tokens [s*tokens, (s+1)*tokens).
 */
export function concatenateSlots(perGarment: readonly { k: Float32Array; v: Float32Array }[][], layers: readonly KvLayerLayout[]): { k: Float32Array; v: Float32Array }[] {
  const slots = perGarment.length;
  return layers.map((layer, i) => {
    const block = layer.tokens * layer.dim;
    const k = new Float32Array(layer.heads * slots * block);
    const v = new Float32Array(k.length);
    perGarment.forEach((garment, s) => {
      const source = garment[i]!;
      for (let h = 0; h < layer.heads; h++) {
        const target = (h * slots + s) * block;
        k.set(source.k.subarray(h * block, (h + 1) * block), target);
        v.set(source.v.subarray(h * block, (h + 1) * block), target);
      }
    });
    return { k, v };
  });
}
