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
  const cats: GarmentCategory[] = ['TOP', 'BOTTOM', 'SHOES'];
  const req = (seed: number) => ({ personImage, person, garments: cats.map((category) => ({ category, image: gi.get(category)!, cache: caches.get(category)! })), steps: 20, guidanceScale: 2.5, seed });
  for (let i = 0; i < 2; i++) await engine.diagnostics.render(req(1), 'persistent');
  for (let rep = 0; rep < 3; rep++) {
    let t = performance.now();
    const seq = [];
    for (let i = 0; i < 8; i++) seq.push(await engine.diagnostics.render(req(100 + i), 'persistent'));
    const seqMs = performance.now() - t;
    t = performance.now();
    const bat = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.diagnostics.render(req(100 + i), 'persistent')));
    const batMs = performance.now() - t;
    const bareOne = (await engine.diagnostics.timeBareLoop({ slots: 3, steps: 20, renders: 1 })).denoiseMs;
    const bareEight = (await engine.diagnostics.timeBareLoop({ slots: 3, steps: 20, renders: 8 })).denoiseMs;
    const sum = (rs: any[], k: string) => rs.reduce((a, r) => a + r.timings[k], 0).toFixed(0);
    console.log(`seq ${seqMs.toFixed(0)} (denoise ${sum(seq, 'denoiseMs')} decode ${sum(seq, 'decodeMs')} ref ${sum(seq, 'referenceMs')}) | batched ${batMs.toFixed(0)} rows ${bat.map((r) => r.maxBatchRows).join(',')} denoise ${bat.map((r) => r.timings.denoiseMs.toFixed(0)).join(',')} decode ${bat.map((r) => r.timings.decodeMs.toFixed(0)).join(',')} | bare1x8 ${(bareOne * 8).toFixed(0)} bare8 ${bareEight.toFixed(0)} | gain ${(seqMs / batMs).toFixed(2)} bareGain ${(bareOne * 8 / bareEight).toFixed(2)}`);
  }
  await engine.close();
})();
