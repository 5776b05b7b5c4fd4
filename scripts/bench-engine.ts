/**
 * Benchmark of the inference engine (not a test): what the persistent reference cache buys.
 * Same weights, renders of 1, 3 and 5 garments at 20 steps, three ways:
 *   noCache     reference_encoder re-run at every step for every garment, both guidance branches
 *               (what an in-context try-on model must do);
 *   perRequest  reference K/V computed once at render start, unconditional included (FastFit);
 *   persistent  K/V from serialized float16 blobs (Atelier), read and decoded once, then held
 *               decoded in the engine's hot cache as in the render worker.
 * Plus the bare denoiser calls + decode of the same shapes (the floor), and 8 concurrent renders
 * batched vs one at a time. Medians of a few repetitions. The last line printed is one JSON object.
 * Outfits are valid ones (one garment per category, a DRESS never with a TOP or BOTTOM), so the
 * largest has 4 garments: TOP + BOTTOM + SHOES + BAG.
 *
 * kvBytesPerBatch: the reference inputs (K/V and their indices or masks) of the denoiser call of
 * 8 concurrent 4-garment renders, render i wearing the package's sample garment i % 4 of each
 * category (so each garment is worn by two renders), against the same call in format 1's layout
 * (float32, a copy per row). A format-1 package is that layout; format 2 sends float16 banks.
 *
 * Defaults: 5 repetitions; onnxruntime threads = the machine's cores (os.availableParallelism),
 * as a worker process that has the machine to itself would run (ATELIER_WORKER_THREADS).
 *
 *   npm run bench:engine [-- <modelDir>] [--reps N] [--threads N]
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createEngine,
  type DiagnosticGarment,
  type DiagnosticRenderRequest,
  type Engine,
  type GarmentCategory,
  type ReferencePolicy,
} from '../src/inference';
import { median, numberFlag } from './bench-support';

const STEPS = 20;
const GARMENT_COUNTS = [1, 3, 4] as const;
type GarmentCount = (typeof GARMENT_COUNTS)[number];
/** Categories worn for each garment count: valid outfits (4 is the most a valid outfit holds). */
const OUTFITS: Record<GarmentCount, GarmentCategory[]> = {
  1: ['TOP'],
  3: ['DRESS', 'SHOES', 'BAG'],
  4: ['TOP', 'BOTTOM', 'SHOES', 'BAG'],
};

interface SampleIndex {
  persons: { image: string }[];
  garments: { category: GarmentCategory; image: string }[];
}

/** A render's time (ms) each way, and the bare denoiser calls + decode of the same shape. */
interface ModeTimes {
  noCache: number;
  perRequest: number;
  persistent: number;
  bare: number;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** The model's sample inputs, encoded: the person, up to 4 garments per category and their reference caches. */
class BenchInputs {
  personImage!: Buffer;
  person!: Buffer;
  /** Garment `nth` of a category is `${category}:${nth}`. */
  readonly garmentImages = new Map<string, Buffer>();
  readonly perCategory = new Map<GarmentCategory, number>();
  readonly caches = new Map<string, Buffer>();
  readonly cacheBytesByCategory: Record<string, number> = {};
  readonly cacheComputeMs: number[] = [];

  static async encode(engine: Engine, modelDir: string): Promise<BenchInputs> {
    const samples = JSON.parse(readFileSync(path.join(modelDir, 'samples/index.json'), 'utf8')) as SampleIndex;
    const read = (relative: string): Buffer => readFileSync(path.join(modelDir, 'samples', relative));
    const inputs = new BenchInputs();
    inputs.personImage = read(samples.persons[0]!.image);
    inputs.person = (await engine.encodePerson(inputs.personImage)).data;
    for (const g of samples.garments) {
      const nth = inputs.perCategory.get(g.category) ?? 0;
      if (nth >= 4) continue;
      inputs.perCategory.set(g.category, nth + 1);
      inputs.garmentImages.set(`${g.category}:${nth}`, read(g.image));
    }
    for (const [key, image] of inputs.garmentImages) {
      const category = key.split(':')[0] as GarmentCategory;
      const blob = await engine.encodeReference(image, category);
      inputs.caches.set(key, blob.data);
      inputs.cacheBytesByCategory[category] = blob.bytes;
      inputs.cacheComputeMs.push(blob.computeMs);
    }
    return inputs;
  }

  /**
   * A render of `categories` (garment `nth` of each). Persistent renders name their caches and the
   * photo's encoding as hot blobs, as the render worker does: the engine reads and decodes each
   * once, then holds it (EngineOptions.hotCacheBytes).
   */
  requestFor(categories: GarmentCategory[], seed: number, nth = 0): DiagnosticRenderRequest {
    const hot = (key: string, bytes: Buffer) => ({ key, version: '1', load: async () => bytes });
    const garments: DiagnosticGarment[] = categories.map((category) => {
      const key = `${category}:${nth % (this.perCategory.get(category) ?? 1)}`;
      return { category, image: this.garmentImages.get(key)!, hot: hot(key, this.caches.get(key)!) };
    });
    return { personImage: this.personImage, personHot: hot('person', this.person), garments, steps: STEPS, guidanceScale: 2.5, seed };
  }
}

/** Each garment count's render time each way, medians of `reps` (interleaved so background load hits every mode alike). */
async function timeModes(engine: Engine, inputs: BenchInputs, reps: number): Promise<Record<string, ModeTimes>> {
  const timeRender = async (categories: GarmentCategory[], policy: ReferencePolicy, seed = 1): Promise<number> => {
    const started = performance.now();
    await engine.diagnostics.render(inputs.requestFor(categories, seed), policy);
    return performance.now() - started;
  };
  // One untimed pass of every shape so allocations and caches are warm.
  for (const n of GARMENT_COUNTS) await timeRender(OUTFITS[n], 'persistent');
  const perCount: Record<string, ModeTimes> = {};
  for (const n of GARMENT_COUNTS) {
    const times = { noCache: [] as number[], perRequest: [] as number[], persistent: [] as number[], bare: [] as number[] };
    for (let rep = 0; rep < reps; rep++) {
      times.noCache.push(await timeRender(OUTFITS[n], 'everyStep'));
      times.perRequest.push(await timeRender(OUTFITS[n], 'perRequest'));
      times.persistent.push(await timeRender(OUTFITS[n], 'persistent'));
      const bare = await engine.diagnostics.timeBareLoop({ slots: n, steps: STEPS, categories: OUTFITS[n] });
      times.bare.push(bare.denoiseMs + bare.decodeMs);
    }
    const t: ModeTimes = {
      noCache: median(times.noCache),
      perRequest: median(times.perRequest),
      persistent: median(times.persistent),
      bare: median(times.bare),
    };
    perCount[n] = t;
    console.log(
      `${n} garment(s), ${STEPS} steps: noCache ${t.noCache.toFixed(0)} ms, perRequest ${t.perRequest.toFixed(0)} ms, ` +
        `persistent ${t.persistent.toFixed(0)} ms, bare denoiser+decode ${t.bare.toFixed(0)} ms`,
    );
  }
  return perCount;
}

/**
 * 8 concurrent renders sharing denoiser calls vs the same 8 one at a time: all with 3 garments,
 * and a mix of 1/3/4 garments (rows padded to the longest, so the small renders pay for padding);
 * and the ceiling batching can reach on this CPU: bare denoiser calls, 8 renders per call vs 1.
 */
async function timeBatching(engine: Engine, inputs: BenchInputs, reps: number) {
  const timeEight = async (counts: readonly GarmentCount[]): Promise<{ sequential: number; batched: number }> => {
    const sequential: number[] = [];
    const batched: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      let started = performance.now();
      for (const [i, n] of counts.entries()) await engine.diagnostics.render(inputs.requestFor(OUTFITS[n], 100 + i), 'persistent');
      sequential.push(performance.now() - started);
      started = performance.now();
      await Promise.all(counts.map((n, i) => engine.diagnostics.render(inputs.requestFor(OUTFITS[n], 100 + i), 'persistent')));
      batched.push(performance.now() - started);
    }
    return { sequential: median(sequential), batched: median(batched) };
  };
  const uniform = await timeEight([3, 3, 3, 3, 3, 3, 3, 3]);
  const mixed = await timeEight([1, 3, 4, 1, 3, 4, 1, 3]);
  const bareOne: number[] = [];
  const bareEight: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    bareOne.push((await engine.diagnostics.timeBareLoop({ slots: 3, steps: 8, renders: 1, categories: OUTFITS[3] })).denoiseMs);
    bareEight.push((await engine.diagnostics.timeBareLoop({ slots: 3, steps: 8, renders: 8, categories: OUTFITS[3] })).denoiseMs / 8);
  }
  const bareBatchGain = median(bareOne) / median(bareEight);
  console.log(`8 renders x 3 garments: one at a time ${uniform.sequential.toFixed(0)} ms, batched ${uniform.batched.toFixed(0)} ms`);
  console.log(`8 renders x 1/3/4 garments: one at a time ${mixed.sequential.toFixed(0)} ms, batched ${mixed.batched.toFixed(0)} ms`);
  return { uniform, mixed, bareBatchGain };
}

/** The reference inputs of one denoiser call of 8 concurrent 4-garment renders (see the header). */
async function measureKvBytes(engine: Engine, inputs: BenchInputs) {
  const eight = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      engine.diagnostics.render({ ...inputs.requestFor(OUTFITS[4], 200 + i, i), steps: 2 }, 'persistent'),
    ),
  );
  const largest = eight.reduce((a, b) => (b.maxKvBytesPerCall > a.maxKvBytesPerCall ? b : a));
  const kvBytesPerBatch = {
    renders: 8,
    garmentsPerRender: 4,
    rows: largest.maxBatchRows,
    layout: largest.kvInputsOfThatCall?.layout,
    dtype: largest.kvInputsOfThatCall?.dtype,
    bytes: largest.maxKvBytesPerCall,
    perRowFloat32Bytes: largest.perRowFloat32BytesOfThatCall,
    ratio: round(largest.maxKvBytesPerCall / largest.perRowFloat32BytesOfThatCall, 3),
  };
  console.log(
    `8 renders x 4 garments, one denoiser call: reference inputs ${kvBytesPerBatch.bytes} bytes (${kvBytesPerBatch.layout}, ${kvBytesPerBatch.dtype}) vs ${kvBytesPerBatch.perRowFloat32Bytes} as float32 per row`,
  );
  return kvBytesPerBatch;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const reps = numberFlag('--reps', 5);
  const threads = numberFlag('--threads', availableParallelism());
  const modelDir = path.resolve(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 'models/tryon-tiny');
  const engine = await createEngine({ modelDir, threads, maxBatch: 8 });
  try {
    const inputs = await BenchInputs.encode(engine, modelDir);
    const { cacheBytesByCategory } = inputs;
    const cacheBytes = cacheBytesByCategory['TOP'] ?? Object.values(cacheBytesByCategory)[0]!;
    const perCount = await timeModes(engine, inputs, reps);
    const { uniform, mixed, bareBatchGain } = await timeBatching(engine, inputs, reps);
    console.log(
      `reference cache: ${JSON.stringify(cacheBytesByCategory)} bytes per garment, computed in ${median(inputs.cacheComputeMs).toFixed(1)} ms`,
    );
    const kvBytesPerBatch = await measureKvBytes(engine, inputs);
    const ratios = (f: (t: ModeTimes) => number) => Object.fromEntries(GARMENT_COUNTS.map((n) => [String(n), round(f(perCount[n]!))]));
    const summary = {
      model: engine.model.id,
      steps: STEPS,
      reps,
      threads,
      speedupVsNoCache: ratios((t) => t.noCache / t.persistent),
      speedupVsPerRequestCache: ratios((t) => t.perRequest / t.persistent),
      overheadVsBareLoop: { '4': round(perCount[4]!.persistent / perCount[4]!.bare - 1, 3) },
      batchedThroughputGain: round(uniform.sequential / uniform.batched),
      batchedThroughputGainMixedGarments: round(mixed.sequential / mixed.batched),
      bareDenoiserBatchGain: round(bareBatchGain),
      cacheBytesPerGarment: cacheBytes,
      cacheBytesPerGarmentByCategory: cacheBytesByCategory,
      kvBytesPerBatch,
      renderMs: Object.fromEntries(
        GARMENT_COUNTS.map((n) => [String(n), Object.fromEntries(Object.entries(perCount[n]!).map(([k, v]) => [k, round(v, 1)]))]),
      ),
      batchMs: {
        uniform: { oneAtATime: round(uniform.sequential, 1), batched: round(uniform.batched, 1) },
        mixed: { oneAtATime: round(mixed.sequential, 1), batched: round(mixed.batched, 1) },
      },
    };
    console.log(JSON.stringify(summary));
  } finally {
    await engine.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
