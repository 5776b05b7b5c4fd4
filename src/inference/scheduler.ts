/**
 * DDIM sampler (diffusers' DDIMScheduler semantics) driven by the manifest's scheduler block:
 * beta schedule, prediction type, timestep spacing, eta. Pure TypeScript so every render's
 * latent update is cheap, deterministic and independent of the batch it ran in.
 */
import type { SchedulerConfig } from './model-package';

export interface DenoiseStepResult {
  /** x_{t-1}: the latent for the next step. */
  previousSample: Float32Array;
  /** The model's current estimate of the clean latent x_0 (used for previews). */
  predictedOriginal: Float32Array;
}

export class DdimScheduler {
  readonly trainTimesteps: number;
  /** Cumulative products of (1 - beta), index = training timestep. */
  readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private readonly eta: number;

  constructor(private readonly config: SchedulerConfig) {
    this.trainTimesteps = config.trainTimesteps;
    const betas = betaSchedule(config);
    this.alphasCumprod = new Float64Array(betas.length);
    let product = 1;
    for (let i = 0; i < betas.length; i++) {
      product *= 1 - betas[i]!;
      this.alphasCumprod[i] = product;
    }
    this.finalAlphaCumprod = (config.setAlphaToOne ?? true) ? 1 : this.alphasCumprod[0]!;
    this.eta = config.eta ?? (config.type === 'ddpm' ? 1 : 0);
  }

  /** True when a step draws fresh noise (eta > 0), so the caller must pass `noise` to step(). */
  get isStochastic(): boolean {
    return this.eta > 0;
  }

  /** The descending training timesteps visited by a run of `steps` steps. */
  timesteps(steps: number): number[] {
    const total = this.trainTimesteps;
    if (!Number.isInteger(steps) || steps < 1 || steps > total)
      throw new RangeError(`steps must be an integer in 1..${total}, got ${steps}`);
    const spacing = this.config.timestepSpacing ?? 'leading';
    const offset = this.config.stepsOffset ?? 0;
    const result: number[] = [];
    if (spacing === 'leading') {
      const ratio = Math.floor(total / steps);
      for (let i = steps - 1; i >= 0; i--) result.push(i * ratio + offset);
    } else if (spacing === 'trailing') {
      for (let i = 0; i < steps; i++) result.push(roundHalfEven(total - (i * total) / steps) - 1);
    } else {
      for (let i = steps - 1; i >= 0; i--) result.push(roundHalfEven(steps === 1 ? 0 : (i * (total - 1)) / (steps - 1)));
    }
    return result.map((t) => Math.min(total - 1, Math.max(0, t)));
  }

  /**
   * One DDIM update from timestep `t` to `previousT` (-1 after the last step).
   * `modelOutput` is interpreted per the manifest's predictionType.
   */
  step(modelOutput: Float32Array, t: number, previousT: number, sample: Float32Array, noise?: Float32Array): DenoiseStepResult {
    return this.guidedStep(modelOutput, null, 1, t, previousT, sample, noise);
  }

  /**
   * Classifier-free guidance (output = unconditional + scale * (conditional - unconditional))
   * and the DDIM update in one pass over the latent, with no intermediate arrays: this runs
   * once per render per step, so it is kept as cheap as the arithmetic allows. `into` receives
   * the result (new arrays when absent). `unconditional` null: `conditional` is the output.
   */
  guidedStep(
    conditional: Float32Array,
    unconditional: Float32Array | null,
    scale: number,
    t: number,
    previousT: number,
    sample: Float32Array,
    noise?: Float32Array,
    into?: DenoiseStepResult,
  ): DenoiseStepResult {
    const alphaT = this.alphasCumprod[t];
    if (alphaT === undefined) throw new RangeError(`timestep ${t} outside 0..${this.trainTimesteps - 1}`);
    const alphaPrev = previousT >= 0 ? this.alphasCumprod[previousT]! : this.finalAlphaCumprod;
    const sqrtAlpha = Math.sqrt(alphaT);
    const sqrtOneMinusAlpha = Math.sqrt(1 - alphaT);
    const variance = ((1 - alphaPrev) / (1 - alphaT)) * (1 - alphaT / alphaPrev);
    const sigma = this.eta * Math.sqrt(Math.max(variance, 0));
    const sqrtAlphaPrev = Math.sqrt(alphaPrev);
    const directionScale = Math.sqrt(Math.max(1 - alphaPrev - sigma * sigma, 0));
    if (sigma > 0 && noise === undefined) throw new Error('a stochastic DDIM step (eta > 0) needs noise');
    const clip = this.config.clipSample ?? true; // diffusers' DDIMScheduler default
    const high = this.config.clipSampleRange ?? 1;
    const low = -high;
    const prediction = this.config.predictionType;
    const n = sample.length;
    const previousSample = into?.previousSample ?? new Float32Array(n);
    const predictedOriginal = into?.predictedOriginal ?? new Float32Array(n);
    const uncond = unconditional ?? conditional;
    // Without an unconditional output, u = c and weight 1 give the conditional output itself.
    const weight = unconditional === null ? 1 : scale;
    const invSqrtAlpha = 1 / sqrtAlpha;
    const invSqrtOneMinusAlpha = 1 / sqrtOneMinusAlpha;
    const noiseScale = sigma > 0 ? sigma : 0;
    const zeros = noiseScale > 0 ? noise! : null;
    if (prediction === 'sample' && clip && noiseScale === 0) {
      // The shipped package's configuration (x0 prediction, clipped, eta 0), without branches on configuration per element.
      for (let i = 0; i < n; i++) {
        const u = uncond[i]!;
        let x0 = u + weight * (conditional[i]! - u);
        x0 = x0 < low ? low : x0 > high ? high : x0;
        predictedOriginal[i] = x0;
        previousSample[i] = sqrtAlphaPrev * x0 + directionScale * (sample[i]! - sqrtAlpha * x0) * invSqrtOneMinusAlpha;
      }
      return { previousSample, predictedOriginal };
    }
    for (let i = 0; i < n; i++) {
      const u = uncond[i]!;
      const out = u + weight * (conditional[i]! - u);
      const x = sample[i]!;
      let x0: number;
      if (prediction === 'sample') x0 = out;
      else if (prediction === 'epsilon') x0 = (x - sqrtOneMinusAlpha * out) * invSqrtAlpha;
      else x0 = sqrtAlpha * x - sqrtOneMinusAlpha * out;
      let eps: number;
      if (clip) {
        x0 = x0 < low ? low : x0 > high ? high : x0;
        eps = (x - sqrtAlpha * x0) * invSqrtOneMinusAlpha; // eps consistent with the clipped x0, as diffusers does
      } else if (prediction === 'sample') eps = (x - sqrtAlpha * out) * invSqrtOneMinusAlpha;
      else if (prediction === 'epsilon') eps = out;
      else eps = sqrtAlpha * out + sqrtOneMinusAlpha * x;
      predictedOriginal[i] = x0;
      previousSample[i] = sqrtAlphaPrev * x0 + directionScale * eps + (zeros === null ? 0 : noiseScale * zeros[i]!);
    }
    return { previousSample, predictedOriginal };
  }
}

/** numpy/Python rounding (ties to even), so timesteps match the training code exactly. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function betaSchedule(config: SchedulerConfig): Float64Array {
  const total = config.trainTimesteps;
  const betas = new Float64Array(total);
  const lerp = (from: number, to: number, i: number): number => (total === 1 ? from : from + ((to - from) * i) / (total - 1));
  switch (config.betaSchedule) {
    case 'linear':
      for (let i = 0; i < total; i++) betas[i] = lerp(config.betaStart, config.betaEnd, i);
      break;
    case 'scaled_linear':
      for (let i = 0; i < total; i++) betas[i] = lerp(Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd), i) ** 2;
      break;
    case 'squaredcos_cap_v2': {
      const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      for (let i = 0; i < total; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / total) / alphaBar(i / total), 0.999);
      break;
    }
  }
  return betas;
}
