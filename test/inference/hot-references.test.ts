/**
 * The engine's hot cache on the shipped package: a render of garments and a photo the engine
 * holds reads no blob and decodes nothing; the byte budget evicts; a replaced or forgotten
 * cache is read again; a damaged blob is refused when it is loaded. The loaders below return
 * the real blobs from encodeReference / encodePerson and only count how often they are called.
 */
import { createEngine, InferenceError, type Engine, type GarmentCategory, type HotBlob, type RenderRequest } from '../../src/inference';
import { MODEL_DIR, readSample, readSampleIndex, sampleGarment } from './package-fixture';

const STEPS = 2;
const CATEGORIES: GarmentCategory[] = ['TOP', 'BOTTOM', 'SHOES'];

describe('hot reference caches and person encodings', () => {
  let engine: Engine;
  let personImage: Buffer;
  let person: Buffer;
  const caches = new Map<GarmentCategory, Buffer>();
  const loads = new Map<string, number>();

  /** A hot blob whose loader returns `bytes` and counts its calls under `key`. */
  const hot = (key: string, version: string, bytes: Buffer): HotBlob => ({
    key,
    version,
    load: async () => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      return bytes;
    },
  });
  const totalLoads = (): number => [...loads.values()].reduce((a, b) => a + b, 0);
  const hotRequest = (prefix: string, categories = CATEGORIES, version = 'v1'): RenderRequest => ({
    personImage,
    personHot: hot(`${prefix}/person`, 'v1', person),
    garments: categories.map((category) => ({ category, hot: hot(`${prefix}/${category}`, version, caches.get(category)!) })),
    steps: STEPS,
    guidanceScale: 2.5,
    seed: 3,
  });

  beforeAll(async () => {
    engine = await createEngine({ modelDir: MODEL_DIR, threads: 1 });
    const samples = readSampleIndex();
    personImage = readSample(samples.persons[0]!.image);
    person = (await engine.encodePerson(personImage)).data;
    for (const category of CATEGORIES)
      caches.set(category, (await engine.encodeReference(sampleGarment(samples, category), category)).data);
  });
  afterAll(async () => {
    await engine?.close();
  });
  beforeEach(() => loads.clear());

  it('reads and decodes each blob once; a second render of the same garments and photo reads no blob and decodes nothing', async () => {
    const plain = await engine.render({
      personImage,
      person,
      garments: CATEGORIES.map((category) => ({ category, cache: caches.get(category)! })),
      steps: STEPS,
      guidanceScale: 2.5,
      seed: 3,
    });
    const before = await engine.hotCacheStats();

    const first = await engine.render(hotRequest('same'));
    expect(totalLoads()).toBe(4); // three garments and the person encoding, one read each
    const afterFirst = await engine.hotCacheStats();
    expect(afterFirst.misses - before.misses).toBe(4);
    expect(afterFirst.entries - before.entries).toBe(4);

    const second = await engine.render(hotRequest('same'));
    expect(totalLoads()).toBe(4); // nothing read
    const afterSecond = await engine.hotCacheStats();
    expect(afterSecond.misses).toBe(afterFirst.misses); // nothing decoded
    expect(afterSecond.hits - afterFirst.hits).toBe(4);

    // The held K/V are the very ones the blobs decode to.
    expect(first.image.equals(plain.image)).toBe(true);
    expect(second.image.equals(plain.image)).toBe(true);
  });

  it('reads a replaced cache (a new version of the same key) again and drops the old one', async () => {
    await engine.render(hotRequest('replaced'));
    const before = await engine.hotCacheStats();
    loads.clear();
    await engine.render({ ...hotRequest('replaced'), garments: [{ category: 'TOP', hot: hot('replaced/TOP', 'v2', caches.get('TOP')!) }] });
    expect([...loads.entries()]).toEqual([['replaced/TOP', 1]]);
    const after = await engine.hotCacheStats();
    expect(after.invalidations - before.invalidations).toBe(1);
    expect(after.entries).toBe(before.entries); // v2 took v1's place
  });

  it('forgets a key (an archived garment): the next render reads that cache again, and only that one', async () => {
    await engine.render(hotRequest('forgotten'));
    expect(await engine.forget(['forgotten/BOTTOM', 'never-held'])).toBe(1);
    loads.clear();
    await engine.render(hotRequest('forgotten'));
    expect([...loads.entries()]).toEqual([['forgotten/BOTTOM', 1]]);
  });

  it('refuses a damaged blob when it is loaded (INVALID_CACHE) and keeps nothing of it', async () => {
    const damaged = Buffer.from(caches.get('TOP')!);
    damaged[damaged.length - 10]! ^= 0xff;
    const before = await engine.hotCacheStats();
    const request = { ...hotRequest('damaged'), garments: [{ category: 'TOP' as const, hot: hot('damaged/TOP', 'v1', damaged) }] };
    await expect(engine.render(request)).rejects.toMatchObject({ code: 'INVALID_CACHE', message: expect.stringMatching(/checksum/) });
    expect((await engine.hotCacheStats()).entries).toBe(before.entries + 1); // the person encoding only
    // The intact blob under the same key and version is read and used.
    await engine.render({ ...request, garments: [{ category: 'TOP', hot: hot('damaged/TOP', 'v1', caches.get('TOP')!) }] });
  });

  it("fails the render with the loader's own error, unchanged", async () => {
    const failure = new Error('blob store unreachable');
    const request = {
      ...hotRequest('failing'),
      garments: [{ category: 'TOP' as const, hot: { key: 'failing/TOP', version: 'v1', load: () => Promise.reject(failure) } }],
    };
    await expect(engine.render(request)).rejects.toBe(failure);
  });

  it('refuses a render that gives a garment neither bytes nor a hot blob', async () => {
    await expect(
      engine.render({ personImage, person, garments: [{ category: 'TOP' }], steps: 1, guidanceScale: 1, seed: 1 }),
    ).rejects.toMatchObject({ code: 'INVALID_CACHE' });
    await expect(
      engine.render({ personImage, garments: [{ category: 'TOP', cache: caches.get('TOP')! }], steps: 1, guidanceScale: 1, seed: 1 }),
    ).rejects.toBeInstanceOf(InferenceError);
  });
});

describe('a hot cache bounded in bytes', () => {
  it('keeps no more than its budget, evicting the least recently used garment', async () => {
    const samples = readSampleIndex();
    const personImage = readSample(samples.persons[0]!.image);
    // The size of one garment's decoded K/V, from an engine that holds one.
    let garmentBytes: number;
    const caches = new Map<GarmentCategory, Buffer>();
    let person: Buffer;
    {
      const probe = await createEngine({ modelDir: MODEL_DIR, threads: 1 });
      try {
        person = (await probe.encodePerson(personImage)).data;
        for (const category of CATEGORIES)
          caches.set(category, (await probe.encodeReference(sampleGarment(samples, category), category)).data);
        await probe.render({
          personImage,
          person,
          garments: [{ category: 'TOP', hot: { key: 'TOP', version: 'v1', load: async () => caches.get('TOP')! } }],
          steps: 1,
          guidanceScale: 1,
          seed: 1,
        });
        garmentBytes = (await probe.hotCacheStats()).bytes;
      } finally {
        await probe.close();
      }
    }
    expect(garmentBytes).toBeGreaterThan(100_000);

    const budget = 2 * garmentBytes + Math.floor(garmentBytes / 2); // room for two garments
    const engine = await createEngine({ modelDir: MODEL_DIR, threads: 1, hotCacheBytes: budget });
    try {
      const loads: string[] = [];
      const request = (categories: GarmentCategory[]): RenderRequest => ({
        personImage,
        person,
        garments: categories.map((category) => ({
          category,
          hot: {
            key: category,
            version: 'v1',
            load: async () => {
              loads.push(category);
              return caches.get(category)!;
            },
          },
        })),
        steps: 1,
        guidanceScale: 1,
        seed: 1,
      });
      await engine.render(request(['TOP', 'BOTTOM', 'SHOES']));
      const stats = await engine.hotCacheStats();
      expect(stats).toMatchObject({ entries: 2, maxBytes: budget, evictions: 1 });
      expect(stats.bytes).toBeLessThanOrEqual(budget);
      // TOP went first; BOTTOM and SHOES are held.
      loads.length = 0;
      await engine.render(request(['BOTTOM', 'SHOES']));
      expect(loads).toEqual([]);
      await engine.render(request(['TOP']));
      expect(loads).toEqual(['TOP']);
    } finally {
      await engine.close();
    }
  });
});
