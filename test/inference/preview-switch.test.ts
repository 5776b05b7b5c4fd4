/**
 * Previews switched on and off while a render runs (RenderOptions.previews as a function, as
 * the worker passes it: on while someone watches): none while it says no, from the step after
 * it says yes, none again after it says no; the image is the same either way. And the timings
 * split the decode (VAE) from compositing and PNG encoding.
 */
import { createEngine, type Engine, type StepProgress } from '../../src/inference';
import { MODEL_DIR, readSample, readSampleIndex, sampleGarment } from './package-fixture';

const STEPS = 24;

describe('previews switched while a render runs', () => {
  let engine: Engine;
  let request: Parameters<Engine['render']>[0];

  beforeAll(async () => {
    engine = await createEngine({ modelDir: MODEL_DIR, threads: 1 });
    const samples = readSampleIndex();
    const personImage = readSample(samples.persons[0]!.image);
    const person = (await engine.encodePerson(personImage)).data;
    const cache = (await engine.encodeReference(sampleGarment(samples, 'TOP'), 'TOP')).data;
    request = { personImage, person, garments: [{ category: 'TOP', cache }], steps: STEPS, guidanceScale: 2.5, seed: 3 };
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('makes none while the switch says no', async () => {
    const steps: StepProgress[] = [];
    const result = await engine.render(request, { previews: () => false, onStep: (p) => steps.push(p) });
    expect(steps).toHaveLength(STEPS);
    expect(steps.filter((p) => p.preview)).toEqual([]);
    expect(result.timings.decodeMs).toBeGreaterThan(0);
    expect(result.timings.composeMs).toBeGreaterThan(0);
    expect(result.timings.referenceMs + result.timings.denoiseMs + result.timings.decodeMs + result.timings.composeMs).toBeLessThanOrEqual(
      result.timings.totalMs,
    );
  });

  it('makes them only from the step after it says yes until it says no again', async () => {
    const steps: StepProgress[] = [];
    const plain = await engine.render(request, { previews: false });
    // On after step 3 is reported, off after step 8.
    const wanted = () => steps.length >= 3 && steps.length < 8;
    const result = await engine.render(request, { previews: wanted, onStep: (p) => steps.push(p) });
    const withPreview = steps.filter((p) => p.preview).map((p) => p.step);
    expect(withPreview.length).toBeGreaterThan(0);
    // The switch is read as each step is reported (first true at step 4's report) and reaches
    // the engine thread for a later step; off again well before the end.
    expect(Math.min(...withPreview)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...withPreview)).toBeLessThan(STEPS - 4);
    expect(result.image.equals(plain.image)).toBe(true);
  });
});
