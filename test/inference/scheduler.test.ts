/** DdimScheduler against values computed with the training code (models/tools/model.py, diffusers semantics). */
import type { SchedulerConfig } from '../../src/inference/model-package';
import { DdimScheduler } from '../../src/inference/scheduler';

const base: SchedulerConfig = {
  type: 'ddim',
  trainTimesteps: 1000,
  betaSchedule: 'scaled_linear',
  betaStart: 0.00085,
  betaEnd: 0.012,
  predictionType: 'v_prediction',
  defaultSteps: 20,
  guidanceScale: 2.5,
};

describe('DdimScheduler', () => {
  it('computes the scaled_linear cumulative alphas', () => {
    const scheduler = new DdimScheduler(base);
    expect(scheduler.alphasCumprod[0]).toBeCloseTo(0.99915, 10);
    expect(scheduler.alphasCumprod[499]).toBeCloseTo(0.27766965045646774, 10);
    expect(scheduler.alphasCumprod[999]).toBeCloseTo(0.004660098513077241, 10);
  });

  it('spaces timesteps like diffusers (leading, trailing with ties to even, linspace)', () => {
    expect(new DdimScheduler(base).timesteps(20).slice(0, 3)).toEqual([950, 900, 850]);
    const trailing = new DdimScheduler({ ...base, timestepSpacing: 'trailing' });
    expect(trailing.timesteps(16)).toEqual([999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61]);
    expect(trailing.timesteps(3)).toEqual([999, 666, 332]);
    expect(new DdimScheduler({ ...base, timestepSpacing: 'linspace' }).timesteps(4)).toEqual([999, 666, 333, 0]);
    expect(() => new DdimScheduler(base).timesteps(0)).toThrow(RangeError);
  });

  it('recovers x0 exactly when the model predicts the true noise/velocity/sample', () => {
    const x0 = new Float32Array([0.5, -0.25, 0.9]);
    const eps = new Float32Array([0.3, -1.2, 0.7]);
    for (const predictionType of ['epsilon', 'v_prediction', 'sample'] as const) {
      const scheduler = new DdimScheduler({ ...base, predictionType });
      const t = 600;
      const a = scheduler.alphasCumprod[t]!;
      const xt = x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * eps[i]!);
      const output = x0.map((v, i) =>
        predictionType === 'epsilon' ? eps[i]! : predictionType === 'sample' ? v : Math.sqrt(a) * eps[i]! - Math.sqrt(1 - a) * v,
      );
      const { predictedOriginal, previousSample } = scheduler.step(output, t, 400, xt);
      const aPrev = scheduler.alphasCumprod[400]!;
      x0.forEach((v, i) => {
        expect(predictedOriginal[i]).toBeCloseTo(v, 5);
        expect(previousSample[i]).toBeCloseTo(Math.sqrt(aPrev) * v + Math.sqrt(1 - aPrev) * eps[i]!, 5);
      });
      // The last step (previous timestep -1) lands on x0 (final alpha 1).
      expect(Array.from(scheduler.step(output, t, -1, xt).previousSample).map((v) => Number(v.toFixed(5)))).toEqual(
        Array.from(x0).map((v) => Number(v.toFixed(5))),
      );
    }
  });

  it('clips x0 to [-1, 1] by default and not when clipSample is false', () => {
    const t = 500;
    const sample = new Float32Array([0]);
    const output = new Float32Array([-10]); // epsilon -10 at x=0 -> x0 far above 1
    expect(new DdimScheduler({ ...base, predictionType: 'epsilon' }).step(output, t, 0, sample).predictedOriginal[0]).toBe(1);
    expect(
      new DdimScheduler({ ...base, predictionType: 'epsilon', clipSample: false }).step(output, t, 0, sample).predictedOriginal[0],
    ).toBeGreaterThan(1);
  });

  it('needs noise only when eta > 0', () => {
    const stochastic = new DdimScheduler({ ...base, eta: 1 });
    expect(stochastic.isStochastic).toBe(true);
    expect(() => stochastic.step(new Float32Array(1), 500, 400, new Float32Array(1))).toThrow();
    expect(new DdimScheduler(base).isStochastic).toBe(false);
  });

  it('guidedStep equals guidance followed by step, for every prediction type, and may update the sample in place', () => {
    const n = 64;
    const wave = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 1.3);
    const [conditional, unconditional, sample] = [wave(0.7), wave(1.9), wave(0.3)];
    for (const predictionType of ['epsilon', 'v_prediction', 'sample'] as const) {
      for (const clipSample of [true, false]) {
        const scheduler = new DdimScheduler({ ...base, predictionType, clipSample });
        const guided = conditional.map((c, i) => unconditional[i]! + 2.5 * (c - unconditional[i]!));
        const expected = scheduler.step(guided, 700, 650, sample);
        const inPlace = sample.slice();
        const fused = scheduler.guidedStep(conditional, unconditional, 2.5, 700, 650, inPlace, undefined, {
          previousSample: inPlace,
          predictedOriginal: new Float32Array(n),
        });
        expect(fused.previousSample).toBe(inPlace);
        for (let i = 0; i < n; i++) {
          expect(fused.previousSample[i]).toBeCloseTo(expected.previousSample[i]!, 5);
          expect(fused.predictedOriginal[i]).toBeCloseTo(expected.predictedOriginal[i]!, 5);
        }
      }
    }
  });
});
