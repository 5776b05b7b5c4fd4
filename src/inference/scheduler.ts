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
    if (!Number.isInteger(steps) || steps < 1 || steps > total) throw new RangeError(`steps must be an integer in 1..${total}, got ${steps}`);
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
    const clipRange = this.config.clipSampleRange ?? 1;
    const prediction = this.config.predictionType;

    const previousSample = new Float32Array(sample.length);
    const predictedOriginal = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const out = modelOutput[i]!;
      let x0: number;
      let eps: number;
      if (prediction === 'epsilon') {
        x0 = (x - sqrtOneMinusAlpha * out) / sqrtAlpha;
        eps = out;
      } else if (prediction === 'sample') {
        x0 = out;
        eps = (x - sqrtAlpha * out) / sqrtOneMinusAlpha;
      } else {
        x0 = sqrtAlpha * x - sqrtOneMinusAlpha * out;
        eps = sqrtAlpha * out + sqrtOneMinusAlpha * x;
      }
      if (clip) {
        x0 = Math.min(clipRange, Math.max(-clipRange, x0));
        eps = (x - sqrtAlpha * x0) / sqrtOneMinusAlpha; // keep eps consistent with the clipped x0, as diffusers does
      }
      predictedOriginal[i] = x0;
      let next = sqrtAlphaPrev * x0 + directionScale * eps;
      if (sigma > 0) next += sigma * noise![i]!;
      previousSample[i] = next;
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
