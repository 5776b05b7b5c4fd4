/**
 * Package format 2 on the test packages made by models/tools/export_fixtures.py (the v2 U-Net at
 * tiny widths, seeded random weights): external-data weights shared by the denoiser and the
 * reference encoder render the same as the single-file twin, each category's garment is resized
 * to its own reference size, K/V reach the denoiser as float16 banks holding each reference once
 * however many rows use it, and an external-data file outside manifest.files is refused.
 * (Format 1, the shipped models/tryon-tiny, is covered by engine.test.ts.)
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createEngine, InferenceError, type Engine, type GarmentCategory, type HotBlob, type RenderRequest } from '../../src/inference';
import { readModelPackage, type ModelPackage } from '../../src/inference/model-package';
import { externalDataLocations } from '../../src/inference/onnx-external-data';
import { deserializeReferenceCache } from '../../src/inference/reference-cache';
import {
  FORMAT2_EXTERNAL_DIR,
  FORMAT2_SINGLE_DIR,
  maxAbsDifference,
  readSample,
  readSampleIndex,
  sampleGarment,
  type SampleIndex,
} from './package-fixture';

const STEPS = 3;

describe('package format 2', () => {
  let external: Engine;
  let single: Engine;
  let pkg: ModelPackage;
  let samples: SampleIndex;
  let personImage: Buffer;
  let person: Buffer;
  let fullMask: Buffer;
  const caches = new Map<string, Buffer>();

  beforeAll(async () => {
    [external, single] = await Promise.all([
      createEngine({ modelDir: FORMAT2_EXTERNAL_DIR }),
      createEngine({ modelDir: FORMAT2_SINGLE_DIR }),
    ]);
    pkg = await readModelPackage(FORMAT2_EXTERNAL_DIR);
    samples = readSampleIndex(FORMAT2_EXTERNAL_DIR);
    personImage = readSample(samples.persons[0]!.image, FORMAT2_EXTERNAL_DIR);
    person = (await external.encodePerson(personImage)).data;
    const { width, height } = pkg.manifest.person;
    // Repaint everything, so every output pixel depends on the denoiser and its references.
    fullMask = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    for (const category of ['TOP', 'BOTTOM', 'SHOES', 'BAG'] as const) {
      for (const nth of [0, 1])
        caches.set(
          `${category}${nth}`,
          (await external.encodeReference(sampleGarment(samples, category, FORMAT2_EXTERNAL_DIR, nth), category)).data,
        );
    }
  });

  afterAll(async () => {
    await Promise.all([external?.close(), single?.close()]);
  });

  const request = (garments: string[], seed = 5): RenderRequest => ({
    personImage,
    person,
    garments: garments.map((name) => ({ category: name.slice(0, -1) as GarmentCategory, cache: caches.get(name)! })),
    steps: STEPS,
    guidanceScale: 2.5,
    seed,
    mask: fullMask,
  });

  it('reads the format-2 manifest: per-category reference sizes and the external weights file among the checksummed files', () => {
    expect(pkg.format).toBe(2);
    expect(pkg.manifest.files['weights.bin']).toMatch(/^[0-9a-f]{64}$/);
    // The denoiser and the reference encoder keep their weights in that one file; the twin in each graph.
    for (const graph of ['denoiser.onnx', 'reference_encoder.onnx']) {
      expect(externalDataLocations(readFileSync(path.join(FORMAT2_EXTERNAL_DIR, graph)))).toEqual(['weights.bin']);
      expect(externalDataLocations(readFileSync(path.join(FORMAT2_SINGLE_DIR, graph)))).toEqual([]);
    }
    const top = pkg.references.get('TOP')!;
    const shoes = pkg.references.get('SHOES')!;
    expect([top.width, top.height]).toEqual([96, 128]);
    expect([shoes.width, shoes.height]).toEqual([48, 64]);
    expect(shoes.layers.map((l) => l.tokens)).toEqual(top.layers.map((l) => l.tokens / 4));
    expect(external.model.id).toBe(single.model.id);
  });

  it('renders outfits of clothing, shoes and a bag (mixed reference sizes), deterministically', async () => {
    const first = await external.render(request(['TOP0', 'BOTTOM0', 'SHOES0', 'BAG0']));
    const again = await external.render(request(['TOP0', 'BOTTOM0', 'SHOES0', 'BAG0']));
    expect(first.image.equals(again.image)).toBe(true);
    const meta = await sharp(first.image).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', first.width, first.height]);
    // The references matter: another shoe changes the image.
    const otherShoes = await external.render(request(['TOP0', 'BOTTOM0', 'SHOES1', 'BAG0']));
    expect(otherShoes.image.equals(first.image)).toBe(false);
  });

  it('gives the same result with external-data weights as with the single-file twin (max abs diff <= 1e-4)', async () => {
    const outfit = request(['TOP0', 'SHOES0', 'BAG1'], 9);
    const [a, b] = await Promise.all([external.diagnostics.render(outfit, 'persistent'), single.diagnostics.render(outfit, 'persistent')]);
    expect(maxAbsDifference(a.modelImage, b.modelImage)).toBeLessThanOrEqual(1e-4);
    for (const category of ['TOP', 'SHOES'] as const) {
      const image = sampleGarment(samples, category, FORMAT2_EXTERNAL_DIR);
      const [ka, kb] = await Promise.all([
        external.diagnostics.referenceKv(image, category),
        single.diagnostics.referenceKv(image, category),
      ]);
      ka.forEach((layer, i) => {
        expect(maxAbsDifference(layer.k, kb[i]!.k)).toBeLessThanOrEqual(1e-4);
        expect(maxAbsDifference(layer.v, kb[i]!.v)).toBeLessThanOrEqual(1e-4);
      });
    }
  });

  it("resizes each garment to its own category's reference size", async () => {
    for (const category of ['TOP', 'SHOES', 'BAG'] as const) {
      const layout = pkg.references.get(category)!;
      const image = sampleGarment(samples, category, FORMAT2_EXTERNAL_DIR);
      const blob = await external.encodeReference(image, category);
      const cache = deserializeReferenceCache(blob.data, external.model.id, layout.layers, category);
      expect(cache.layers.reduce((sum, l) => sum + l.k.byteLength + l.v.byteLength, 0)).toBe(layout.bytes);
      // The same image already at the category's size (as the engine resizes it) gives the same cache.
      const resized = await sharp(image)
        .resize(layout.width, layout.height, { fit: 'contain', kernel: 'lanczos3', background: '#ffffff' })
        .png()
        .toBuffer();
      expect((await external.encodeReference(resized, category)).data.equals(blob.data)).toBe(true);
    }
    expect(pkg.references.get('SHOES')!.bytes * 4).toBe(pkg.references.get('TOP')!.bytes);
  });

  it('holds each garment and each unconditional reference once per denoiser call, however many rows use them, in float16', async () => {
    // Two renders share a TOP and the unconditional TOP; the second adds a bag.
    const a = { ...request(['TOP0', 'SHOES0'], 1), steps: 8 };
    const b = { ...request(['TOP0', 'BAG0'], 2), steps: 8 };
    const [ra, rb] = await Promise.all([external.diagnostics.render(a, 'persistent'), external.diagnostics.render(b, 'persistent')]);
    expect(ra.maxBatchRows).toBe(4);
    const tokens = (category: string) => pkg.references.get(category)!.layers.map((l) => l.tokens);
    const sum = (lists: number[][]) => lists[0]!.map((_, i) => lists.reduce((s, l) => s + l[i]!, 0));
    // Bank: TOP, SHOES, BAG and their three unconditional references; every row: TOP + SHOES or BAG (same size).
    const bankTokens = sum([tokens('TOP'), tokens('SHOES'), tokens('BAG')]).map((t) => 2 * t);
    const rowTokens = sum([tokens('TOP'), tokens('SHOES')]);
    expect(ra.kvInputsOfThatCall).toEqual({ layout: 'bank', dtype: 'float16', storedTokens: bankTokens, rowTokens });
    const expected = pkg.kvLayers.reduce((bytes, l, i) => bytes + 2 * 2 * l.heads * bankTokens[i]! * l.dim + 4 * 4 * rowTokens[i]!, 0);
    expect(ra.maxKvBytesPerCall).toBe(expected);
    expect(rb.maxKvBytesPerCall).toBe(expected);
    // Float32 copies per row (format 1's layout) of the same call: 4 rows, K and V, plus ref_mask [4, 2].
    expect(ra.perRowFloat32BytesOfThatCall).toBe(
      pkg.kvLayers.reduce((bytes, l, i) => bytes + 2 * 4 * 4 * l.heads * rowTokens[i]! * l.dim, 0) + 4 * 4 * 2,
    );
  });

  it('stores a garment worn twice in one outfit once', async () => {
    const twice = await external.diagnostics.render({ ...request(['TOP0', 'TOP0']), steps: 1 }, 'persistent');
    const top = pkg.references.get('TOP')!.layers.map((l) => l.tokens);
    expect(twice.kvInputsOfThatCall).toEqual({
      layout: 'bank',
      dtype: 'float16',
      storedTokens: top.map((t) => 2 * t),
      rowTokens: top.map((t) => 2 * t),
    });
  });

  it('holds format-2 caches (each category its own reference size) and the encoding in the hot cache: the second render reads no blob, decodes nothing, and renders the same', async () => {
    const loads: string[] = [];
    const hot = (key: string, bytes: Buffer): HotBlob => ({ key, version: 'v1', load: async () => (loads.push(key), bytes) });
    const outfit = ['TOP0', 'BOTTOM0', 'SHOES0', 'BAG0'];
    const hotRequest = (): RenderRequest => ({
      ...request(outfit),
      person: undefined,
      personHot: hot('f2/person', person),
      garments: outfit.map((name) => ({ category: name.slice(0, -1) as GarmentCategory, hot: hot(`f2/${name}`, caches.get(name)!) })),
    });
    const plain = await external.render(request(outfit));
    const before = await external.hotCacheStats();

    const first = await external.render(hotRequest());
    expect([...loads].sort()).toEqual(['f2/BAG0', 'f2/BOTTOM0', 'f2/SHOES0', 'f2/TOP0', 'f2/person']);
    const afterFirst = await external.hotCacheStats();
    expect(afterFirst.misses - before.misses).toBe(5);
    expect(afterFirst.entries - before.entries).toBe(5);
    // Held as decoded: float16 views of each blob, counted at the blob's bytes (shoes and bags are smaller than clothing).
    const blobBytes = outfit.reduce((sum, name) => sum + caches.get(name)!.byteLength, person.byteLength);
    expect(afterFirst.bytes - before.bytes).toBe(blobBytes);
    expect(caches.get('SHOES0')!.byteLength).toBeLessThan(caches.get('TOP0')!.byteLength);

    loads.length = 0;
    const second = await external.render(hotRequest());
    expect(loads).toEqual([]);
    const afterSecond = await external.hotCacheStats();
    expect(afterSecond.misses).toBe(afterFirst.misses);
    expect(afterSecond.hits - afterFirst.hits).toBe(5);
    expect(afterSecond.bytes).toBe(afterFirst.bytes);

    expect(first.image.equals(plain.image)).toBe(true);
    expect(second.image.equals(plain.image)).toBe(true);
  });

  it('still checks a held format-2 cache against the category the request names', async () => {
    const blob = caches.get('SHOES1')!;
    const load = async (): Promise<Buffer> => blob;
    await external.render({
      ...request(['SHOES1']),
      garments: [{ category: 'SHOES', hot: { key: 'f2/shoes-held', version: 'v1', load } }],
    });
    const error = await external
      .render({ ...request(['TOP1']), garments: [{ category: 'TOP', hot: { key: 'f2/shoes-held', version: 'v1', load } }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InferenceError);
    expect(error).toMatchObject({ code: 'INVALID_CACHE', message: expect.stringContaining('holds a SHOES garment') });
  });
});

describe('format 2 package verification', () => {
  let copy: string;

  beforeEach(() => {
    copy = mkdtempSync(path.join(tmpdir(), 'atelier-model-v2-'));
    cpSync(FORMAT2_EXTERNAL_DIR, copy, { recursive: true });
  });

  afterEach(() => {
    rmSync(copy, { recursive: true, force: true });
  });

  const editManifest = (edit: (manifest: Record<string, unknown>) => void): void => {
    const file = path.join(copy, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(manifest);
    writeFileSync(file, JSON.stringify(manifest));
  };

  it('names a corrupted external weights file', async () => {
    const file = path.join(copy, 'weights.bin');
    const bytes = readFileSync(file);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(readModelPackage(copy)).rejects.toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH', files: ['weights.bin'] });
  });

  it('names a missing external weights file', async () => {
    unlinkSync(path.join(copy, 'weights.bin'));
    await expect(readModelPackage(copy)).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING', files: ['weights.bin'] });
  });

  it('refuses a graph whose external-data file manifest.files does not list (it would be read unchecked)', async () => {
    editManifest((manifest) => delete (manifest['files'] as Record<string, string>)['weights.bin']);
    await expect(readModelPackage(copy)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringMatching(/weights\.bin.*manifest\.files/),
    });
  });

  it('refuses a category without a reference size, and a format it does not know', async () => {
    editManifest((manifest) => delete (manifest['references'] as Record<string, unknown>)['BAG']);
    await expect(readModelPackage(copy)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringMatching(/references has no entry for BAG/),
    });
    editManifest((manifest) => (manifest['format'] = 3));
    await expect(readModelPackage(copy)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringMatching(/format 3.*formats 1 and 2/),
    });
  });
});
