/**
 * The engine end to end on the shipped package: determinism, reference-cache round trip and
 * validation, cancellation, batched == unbatched, masks from parsed labels, compositing,
 * input errors, and a caller event loop that keeps ticking while a render runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createEngine, InferenceError, type Engine, type GarmentCategory, type StepProgress } from '../../src/inference';
import { maxPoolMask, outfitMaskFromLabels, upsampleLatentMask } from '../../src/inference/masks';
import { readModelPackage, type ModelPackage } from '../../src/inference/model-package';
import { deserializePersonEncoding } from '../../src/inference/person-encoding';
import { deserializeReferenceCache, serializeReferenceCache, widenLayer } from '../../src/inference/reference-cache';
import { MODEL_DIR, maxAbsDifference, rawRgb, readSample, readSampleIndex, sampleGarment, type SampleIndex } from './package-fixture';

const STEPS = 4;

describe('inference engine on the shipped package', () => {
  let engine: Engine;
  let pkg: ModelPackage;
  let samples: SampleIndex;
  let personImage: Buffer;
  let person: Buffer;
  const caches = new Map<GarmentCategory, Buffer>();

  beforeAll(async () => {
    engine = await createEngine({ modelDir: MODEL_DIR, threads: 1 });
    pkg = await readModelPackage(MODEL_DIR);
    samples = readSampleIndex();
    personImage = readSample(samples.persons[0]!.image);
    person = (await engine.encodePerson(personImage)).data;
    for (const category of ['TOP', 'BOTTOM', 'SHOES'] as const)
      caches.set(category, (await engine.encodeReference(sampleGarment(samples, category), category)).data);
  });

  afterAll(async () => {
    await engine?.close();
  });

  const request = (categories: GarmentCategory[], seed = 7) => ({
    personImage,
    person,
    garments: categories.map((category) => ({ category, cache: caches.get(category)! })),
    steps: STEPS,
    guidanceScale: 2.5,
    seed,
  });

  it('identifies the model it loaded', () => {
    expect(engine.model).toEqual({
      name: pkg.manifest.name,
      version: pkg.manifest.version,
      id: `${pkg.manifest.name}@${pkg.manifest.version}`,
    });
  });

  it('renders bit-identical images for the same seed, different ones for another seed', async () => {
    const first = await engine.render(request(['TOP']));
    const second = await engine.render(request(['TOP']));
    const other = await engine.render(request(['TOP'], 8));
    expect(first.image.equals(second.image)).toBe(true);
    expect(first.image.equals(other.image)).toBe(false);
    const original = await sharp(personImage).metadata();
    expect([first.width, first.height]).toEqual([original.width, original.height]);
    expect(first.timings.totalMs).toBeGreaterThan(0);
  });

  it('serializes reference K/V as float16 and reads back the same tensors to float16 precision', async () => {
    const image = sampleGarment(samples, 'TOP');
    const blob = await engine.encodeReference(image, 'TOP');
    expect(blob.bytes).toBe(blob.data.length);
    expect(blob.checksum).toMatch(/^[0-9a-f]{64}$/);

    // The same K/V straight from reference_encoder in float32.
    const exact = await engine.diagnostics.referenceKv(image, 'TOP');
    const loaded = deserializeReferenceCache(blob.data, engine.model.id, pkg.references.get('TOP')!.layers, 'TOP');
    expect(loaded.layers).toHaveLength(pkg.kvLayers.length);
    exact.forEach((layer, i) => {
      const read = widenLayer(loaded.layers[i]!);
      for (const [a, b] of [
        [layer.k, read.k],
        [layer.v, read.v],
      ] as const) {
        expect(b.length).toBe(a.length);
        let worst = 0;
        for (let j = 0; j < a.length; j++)
          worst = Math.max(worst, Math.abs(a[j]! - b[j]!) - Math.max(Math.abs(a[j]!) * 2 ** -11, 2 ** -25));
        expect(worst).toBeLessThanOrEqual(1e-12);
      }
    });
  });

  it('rejects a corrupted cache, a cache of another model, and a cache of another category with INVALID_CACHE', async () => {
    const cache = caches.get('TOP')!;
    const corrupted = Buffer.from(cache);
    corrupted[corrupted.length - 100] = corrupted[corrupted.length - 100]! ^ 0x40;
    const truncated = cache.subarray(0, cache.length - 2);
    const decoded = deserializeReferenceCache(cache, engine.model.id, pkg.references.get('TOP')!.layers);
    const foreign = serializeReferenceCache({ ...decoded, modelId: 'other-model@3' }, pkg.references.get('TOP')!.layers);
    const cases: [Buffer, GarmentCategory, RegExp][] = [
      [corrupted, 'TOP', /checksum/],
      [truncated, 'TOP', /truncated|payload/],
      [foreign, 'TOP', /other-model@3/],
      [cache, 'BOTTOM', /holds a TOP garment/],
      [Buffer.from('not a cache at all'), 'TOP', /bad magic/],
    ];
    for (const [blob, category, message] of cases) {
      const attempt = engine.render({ ...request(['TOP']), garments: [{ category, cache: blob }] });
      await expect(attempt).rejects.toMatchObject({ code: 'INVALID_CACHE', message: expect.stringMatching(message) });
    }
  });

  it('stops within one step when the signal aborts, rejecting with CANCELED', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const attempt = engine.render(
      { ...request(['TOP']), steps: 30 },
      {
        signal: controller.signal,
        onStep: (progress) => {
          steps.push(progress.step);
          if (progress.step === 3) controller.abort();
        },
      },
    );
    await expect(attempt).rejects.toMatchObject({ code: 'CANCELED' });
    expect(Math.max(...steps)).toBeLessThanOrEqual(4);
    // An already aborted signal never starts a render.
    await expect(engine.render(request(['TOP']), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(InferenceError);
  });

  it('reports every step in order with an ETA, and previews as small PNGs when asked', async () => {
    const reports: StepProgress[] = [];
    await engine.render(request(['TOP']), { onStep: (p) => reports.push(p), previews: true });
    expect(reports.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(reports.every((r) => r.totalSteps === STEPS && r.etaMs >= 0)).toBe(true);
    expect(reports[STEPS - 1]!.etaMs).toBeLessThan(reports[0]!.etaMs + 1);
    const preview = reports.find((r) => r.preview !== undefined)?.preview;
    expect(preview).toBeDefined();
    const meta = await sharp(preview!.png).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([preview!.width, preview!.height]);
    expect(meta.height).toBeLessThanOrEqual(pkg.manifest.person.height);
  });

  it('spaces previews by previewIntervalMs, the first step always having one', async () => {
    const reports: StepProgress[] = [];
    await engine.render(request(['TOP']), { onStep: (p) => reports.push(p), previews: true, previewIntervalMs: 60_000 });
    expect(reports.map((r) => r.preview !== undefined)).toEqual([true, false, false, false]);
    await expect(engine.render(request(['TOP']), { previews: true, previewIntervalMs: -1 })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  it('gives the same output batched as unbatched (renders with different garment counts share calls)', async () => {
    const one = { ...request(['TOP'], 11), garments: request(['TOP']).garments };
    const three = request(['TOP', 'BOTTOM', 'SHOES'], 12);
    const aloneOne = await engine.diagnostics.render(one, 'persistent');
    const aloneThree = await engine.diagnostics.render(three, 'persistent');
    const [batchedOne, batchedThree] = await Promise.all([
      engine.diagnostics.render(one, 'persistent'),
      engine.diagnostics.render(three, 'persistent'),
    ]);
    expect(aloneOne.maxBatchRows).toBe(2);
    expect(batchedOne.maxBatchRows).toBe(4);
    expect(batchedThree.maxBatchRows).toBe(4);
    // Submitted together, they start together: no step of either runs alone.
    expect(batchedOne.batchRowsPerStep).toEqual(Array(STEPS).fill(4));
    expect(batchedThree.batchRowsPerStep).toEqual(Array(STEPS).fill(4));
    // Format 1: float32 K/V per row (widened from the float16 caches into the batch tensors), padded to 3 slots.
    expect(batchedOne.kvInputsOfThatCall).toMatchObject({ layout: 'perRow', dtype: 'float32' });
    expect(batchedOne.maxKvBytesPerCall).toBe(batchedOne.perRowFloat32BytesOfThatCall);
    expect(maxAbsDifference(aloneOne.modelImage, batchedOne.modelImage)).toBeLessThanOrEqual(1e-3);
    expect(maxAbsDifference(aloneThree.modelImage, batchedThree.modelImage)).toBeLessThanOrEqual(1e-3);
  });

  it('lets a render join a running one and finish first, without either waiting for the other', async () => {
    const events: string[] = [];
    let joined: Promise<unknown> | undefined;
    const long = engine.diagnostics
      .render({ ...request(['TOP', 'BOTTOM'], 21), steps: 12 }, 'persistent', {
        onStep: ({ step }) => {
          if (step === 3) {
            joined = engine.diagnostics.render({ ...request(['SHOES'], 22), steps: 2 }, 'persistent').then((result) => {
              events.push('short done');
              return result;
            });
          }
        },
      })
      .then((result) => {
        events.push('long done');
        return result;
      });
    const longResult = await long;
    const shortResult = (await joined) as { maxBatchRows: number };
    expect(events).toEqual(['short done', 'long done']);
    expect(longResult.maxBatchRows).toBe(4);
    expect(shortResult.maxBatchRows).toBe(4);
  });

  it('makes the mask from the parsed labels per the manifest rule and keeps unmasked pixels byte-identical', async () => {
    const encoding = deserializePersonEncoding(person, engine.model.id);
    const { width, height } = pkg.manifest.person;
    const { downscale, width: lw, height: lh } = pkg.manifest.latent;
    const expected = outfitMaskFromLabels(encoding.labels!, width, height, ['TOP', 'SHOES'], pkg.manifest.parser!);
    // The rule: union of each category's label set, dilated per category (checked against a direct evaluation).
    const rule = pkg.manifest.parser!;
    const direct = new Uint8Array(width * height);
    for (const category of ['TOP', 'SHOES']) {
      const { labels, dilate } = rule.categoryMask[category]!;
      const ids = new Set(labels.map((name) => rule.labels.indexOf(name)));
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++)
          for (let dy = -dilate; dy <= dilate; dy++)
            for (let dx = -dilate; dx <= dilate; dx++) {
              const yy = y + dy;
              const xx = x + dx;
              if (yy >= 0 && yy < height && xx >= 0 && xx < width && ids.has(encoding.labels![yy * width + xx]!)) direct[y * width + x] = 1;
            }
    }
    expect(Buffer.from(expected).equals(Buffer.from(direct))).toBe(true);
    const cells = upsampleLatentMask(maxPoolMask(expected, width, height, downscale), lw, lh, downscale);
    expect(cells.every((v, p) => v >= expected[p]!)).toBe(true);
    // Masks of one photo are kept per set of categories: another set right before must not leak into this one.
    const topOnly = await engine.diagnostics.render(request(['TOP']), 'persistent');
    expect(Buffer.from(topOnly.modelMask).equals(Buffer.from(outfitMaskFromLabels(encoding.labels!, width, height, ['TOP'], rule)))).toBe(
      true,
    );
    const result = await engine.diagnostics.render(request(['TOP', 'SHOES']), 'persistent');
    expect(Buffer.from(result.modelMask).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(topOnly.modelMask).equals(Buffer.from(expected))).toBe(false);
    // The same set again (kept inputs) renders the same bytes as the first time; in another order, the same mask.
    expect((await engine.diagnostics.render(request(['TOP', 'SHOES']), 'persistent')).image.equals(result.image)).toBe(true);
    expect(
      Buffer.from((await engine.diagnostics.render(request(['SHOES', 'TOP']), 'persistent')).modelMask).equals(Buffer.from(expected)),
    ).toBe(true);
    expect(expected.some((v) => v === 1)).toBe(true);
    expect(expected.some((v) => v === 0)).toBe(true);

    const original = await rawRgb(personImage);
    const output = await rawRgb(result.image);
    const scaleX = width / original.width;
    const scaleY = height / original.height;
    let outside = 0;
    let changedOutside = 0;
    for (let y = 0; y < original.height; y++) {
      for (let x = 0; x < original.width; x++) {
        const my = Math.min(height - 1, Math.floor((y + 0.5) * scaleY));
        const mx = Math.min(width - 1, Math.floor((x + 0.5) * scaleX));
        if (expected[my * width + mx] === 1) continue;
        outside++;
        const p = 3 * (y * original.width + x);
        if (!output.data.subarray(p, p + 3).equals(original.data.subarray(p, p + 3))) changedOutside++;
      }
    }
    expect(outside).toBeGreaterThan(0);
    expect(changedOutside).toBe(0);
  });

  it("uses a supplied mask instead of the parsed one and pastes only inside it, at the photo's own resolution", async () => {
    // A photo three times the model's size: the result keeps that size.
    const meta = await sharp(personImage).metadata();
    const bigPhoto = await sharp(personImage)
      .resize(meta.width! * 3, meta.height! * 3, { kernel: 'nearest' })
      .png()
      .toBuffer();
    const bigPerson = (await engine.encodePerson(bigPhoto)).data;
    const original = await rawRgb(bigPhoto);
    // Repaint only a centered box.
    const box = {
      left: Math.round(original.width * 0.3),
      top: Math.round(original.height * 0.3),
      width: Math.round(original.width * 0.4),
      height: Math.round(original.height * 0.3),
    };
    const mask = await sharp({ create: { width: original.width, height: original.height, channels: 3, background: '#000000' } })
      .composite([
        { input: { create: { width: box.width, height: box.height, channels: 3, background: '#ffffff' } }, left: box.left, top: box.top },
      ])
      .png()
      .toBuffer();
    const result = await engine.render({ ...request(['TOP']), personImage: bigPhoto, person: bigPerson, mask });
    expect([result.width, result.height]).toEqual([original.width, original.height]);
    const output = await rawRgb(result.image);
    let changedInside = 0;
    let changedOutside = 0;
    for (let y = 0; y < original.height; y++) {
      for (let x = 0; x < original.width; x++) {
        const p = 3 * (y * original.width + x);
        const inside = x >= box.left && x < box.left + box.width && y >= box.top && y < box.top + box.height;
        const same =
          output.data[p] === original.data[p] && output.data[p + 1] === original.data[p + 1] && output.data[p + 2] === original.data[p + 2];
        if (!inside && !same) changedOutside++;
        else if (inside && !same) changedInside++;
      }
    }
    expect(changedOutside).toBe(0);
    expect(changedInside).toBeGreaterThan(0);
    await expect(engine.render({ ...request(['TOP']), mask: Buffer.from('nope') })).rejects.toMatchObject({ code: 'INVALID_MASK' });
    const wideMask = await sharp({ create: { width: 400, height: 100, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    await expect(engine.render({ ...request(['TOP']), mask: wideMask })).rejects.toMatchObject({
      code: 'INVALID_MASK',
      message: expect.stringMatching(/aspect ratio/),
    });
  });

  it('keeps the caller event loop responsive during a render', async () => {
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 5);
    try {
      const started = performance.now();
      await engine.render({ ...request(['TOP', 'BOTTOM', 'SHOES']), steps: 16 });
      const elapsed = performance.now() - started;
      // Blocking would show as one gap as long as the render; allow for a busy machine's scheduling.
      expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
      expect(longestGap).toBeLessThan(Math.max(150, elapsed / 3));
    } finally {
      clearInterval(timer);
    }
  });

  it('refuses bad inputs with clear, coded errors', async () => {
    const notAnImage = Buffer.from('definitely not a PNG');
    await expect(engine.encodePerson(notAnImage)).rejects.toMatchObject({
      code: 'INVALID_IMAGE',
      message: expect.stringMatching(/person photo/),
    });
    await expect(engine.encodeReference(notAnImage, 'TOP')).rejects.toMatchObject({
      code: 'INVALID_IMAGE',
      message: expect.stringMatching(/garment image/),
    });
    const landscape = await sharp({ create: { width: 400, height: 100, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    await expect(engine.encodePerson(landscape)).rejects.toMatchObject({
      code: 'INVALID_IMAGE_SIZE',
      message: expect.stringMatching(/400x100/),
    });
    const tiny = await sharp({ create: { width: 6, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    await expect(engine.encodePerson(tiny)).rejects.toMatchObject({ code: 'INVALID_IMAGE_SIZE', message: expect.stringMatching(/6x8/) });
    await expect(engine.encodeReference(sampleGarment(samples, 'TOP'), 'HAT' as GarmentCategory)).rejects.toMatchObject({
      code: 'UNKNOWN_CATEGORY',
      message: expect.stringMatching(/HAT/),
    });
    await expect(
      engine.render({ ...request(['TOP']), garments: [{ category: 'SCARF' as GarmentCategory, cache: caches.get('TOP')! }] }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_CATEGORY' });
    await expect(
      engine.render({ ...request(['TOP']), personImage: readSample(samples.persons[1]?.image ?? samples.heldout[0]!.person) }),
    ).rejects.toMatchObject({ code: 'INVALID_CACHE', message: expect.stringMatching(/another photo/) });
    await expect(engine.render({ ...request(['TOP']), steps: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(engine.render({ ...request(['TOP']), garments: [] })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('engine lifecycle', () => {
  it("runs inference at the nice value asked for, leaving the caller's thread as it was", async () => {
    const niceOf = (tid: string): number => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); // field 19: nice
    };
    const callerNice = niceOf(String(process.pid));
    const engine = await createEngine({ modelDir: MODEL_DIR, nice: 7 });
    try {
      if (process.platform !== 'linux') {
        expect(engine.threadNice).toBeNull();
        return;
      }
      expect(engine.threadNice).toBe(Math.max(7, callerNice));
      const threads = readdirSync('/proc/self/task');
      expect(threads.filter((tid) => niceOf(tid) === engine.threadNice).length).toBeGreaterThanOrEqual(1);
      expect(niceOf(String(process.pid))).toBe(callerNice);
    } finally {
      await engine.close();
    }
    await expect(createEngine({ modelDir: MODEL_DIR, nice: 20 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('rejects calls after close', async () => {
    const engine = await createEngine({ modelDir: MODEL_DIR });
    await engine.close();
    await expect(
      engine.encodePerson(readFileSync(path.join(MODEL_DIR, 'samples', readSampleIndex().persons[0]!.image))),
    ).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
  });
});
