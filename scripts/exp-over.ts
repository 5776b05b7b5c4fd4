import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createEngine, type GarmentCategory } from '../src/inference';
(async () => {
  const threads = Number(process.argv[2] ?? 2);
  const modelDir = path.resolve('models/tryon-tiny');
  const samples = JSON.parse(readFileSync(path.join(modelDir, 'samples/index.json'), 'utf8'));
  const read = (r: string) => readFileSync(path.join(modelDir, 'samples', r));
  const engine = await createEngine({ modelDir, threads, maxBatch: 8 });
  const personImage = read(samples.persons[0].image);
  const person = (await engine.encodePerson(personImage)).data;
  const gi = new Map<GarmentCategory, Buffer>();
  for (const g of samples.garments) if (!gi.has(g.category)) gi.set(g.category, read(g.image));
  const caches = new Map<GarmentCategory, Buffer>();
  for (const [c, img] of gi) caches.set(c, (await engine.encodeReference(img, c)).data);
  const cats: GarmentCategory[] = ['TOP', 'BOTTOM', 'SHOES', 'BAG', 'DRESS'];
  const req = (seed: number) => ({ personImage, person, garments: cats.map((category) => ({ category, image: gi.get(category)!, cache: caches.get(category)! })), steps: 20, guidanceScale: 2.5, seed });
  for (let i = 0; i < 2; i++) await engine.diagnostics.render(req(1), 'persistent');
  for (let rep = 0; rep < 4; rep++) {
    const t = performance.now();
    const r = await engine.diagnostics.render(req(1), 'persistent');
    const wall = performance.now() - t;
    const bare = await engine.diagnostics.timeBareLoop({ slots: 5, steps: 20 });
    const tm = r.timings;
    console.log(`wall ${wall.toFixed(0)} total ${tm.totalMs.toFixed(0)} ref ${tm.referenceMs.toFixed(1)} denoise ${tm.denoiseMs.toFixed(0)} decode ${tm.decodeMs.toFixed(1)} prep ${(tm.totalMs - tm.denoiseMs - tm.decodeMs).toFixed(1)} | bare denoise ${bare.denoiseMs.toFixed(0)} decode ${bare.decodeMs.toFixed(1)} | overhead ${(wall / (bare.denoiseMs + bare.decodeMs) - 1).toFixed(3)}`);
  }
  await engine.close();
})();
