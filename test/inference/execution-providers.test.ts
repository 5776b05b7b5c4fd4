/**
 * Execution providers at start-up on this CPU-only installation of onnxruntime-node (its CUDA
 * provider libraries are not installed; no WebGPU adapter): a provider it lacks is one clear
 * error naming it, unless cpu follows it, then a warning and the fallback. Real engine, real package.
 */
import { createEngine, InferenceError } from '../../src/inference';
import { MODEL_DIR } from './package-fixture';

describe('execution providers', () => {
  it('runs every graph on the CPU by default and says so', async () => {
    const engine = await createEngine({ modelDir: MODEL_DIR });
    try {
      expect(engine.executionProviders).toMatchObject({ requested: ['cpu'], used: ['cpu'], warnings: [] });
      expect(Object.keys(engine.executionProviders.graphs).sort()).toEqual([
        'denoiser.onnx',
        'parser.onnx',
        'reference_encoder.onnx',
        'vae_decoder.onnx',
        'vae_encoder.onnx',
      ]);
      expect(new Set(Object.values(engine.executionProviders.graphs))).toEqual(new Set(['cpu']));
    } finally {
      await engine.close();
    }
  });

  it('refuses to start when a requested provider is missing and cpu does not follow it, naming the provider', async () => {
    const error = await createEngine({ modelDir: MODEL_DIR, executionProviders: ['cuda'] }).then(
      async (engine) => {
        await engine.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InferenceError);
    expect(error).toMatchObject({ code: 'EXECUTION_PROVIDER_UNAVAILABLE' });
    expect((error as Error).message).toMatch(/^execution provider cuda is not available in this installation of onnxruntime-node: /);
    expect((error as Error).message).toMatch(/cuda,cpu/); // how to fall back instead
    await expect(createEngine({ modelDir: MODEL_DIR, executionProviders: ['nosuchprovider'] })).rejects.toMatchObject({
      code: 'EXECUTION_PROVIDER_UNAVAILABLE',
      message: expect.stringContaining('has no nosuchprovider provider'),
    });
  });

  it('falls back to the CPU with a warning naming the provider when cpu follows it', async () => {
    const warnings: string[] = [];
    const engine = await createEngine({
      modelDir: MODEL_DIR,
      executionProviders: ['cuda', 'cpu'],
      onWarning: (message) => warnings.push(message),
    });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^execution provider cuda is not available \(.+\); the graphs run on cpu$/);
      expect(engine.executionProviders).toMatchObject({ requested: ['cuda', 'cpu'], used: ['cpu'], warnings });
      expect(new Set(Object.values(engine.executionProviders.graphs))).toEqual(new Set(['cpu']));
    } finally {
      await engine.close();
    }
  });

  it('refuses an empty or malformed list before starting anything', async () => {
    await expect(createEngine({ modelDir: MODEL_DIR, executionProviders: [] })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(createEngine({ modelDir: MODEL_DIR, executionProviders: ['CUDA EP'] })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
