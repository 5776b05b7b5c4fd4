/** Reference-cache and person-encoding blobs: round trip, and every kind of damage refused with INVALID_CACHE. */
import { InferenceError } from '../../src/inference';
import type { KvLayerLayout } from '../../src/inference/model-package';
import { deserializePersonEncoding, serializePersonEncoding, type PersonEncoding } from '../../src/inference/person-encoding';
import { float32ToFloat16 } from '../../src/inference/float16';
import { deserializeReferenceCache, serializeReferenceCache } from '../../src/inference/reference-cache';

const layout: KvLayerLayout[] = [
  { name: 'down.attn', heads: 2, tokens: 6, dim: 4 },
  { name: 'mid.attn', heads: 1, tokens: 3, dim: 8 },
];

/** float16 bit patterns of a deterministic float32 signal. */
function kv(seed: number, count: number): Uint16Array {
  return float32ToFloat16(Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 31 + i * 0.7) * 3));
}

const cache = {
  modelId: 'tryon-tiny@1',
  category: 'TOP',
  layers: layout.map((l, i) => ({ k: kv(i, l.heads * l.tokens * l.dim), v: kv(i + 10, l.heads * l.tokens * l.dim) })),
};

function expectInvalid(run: () => unknown, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    expect((error as InferenceError).code).toBe('INVALID_CACHE');
    expect((error as InferenceError).message).toMatch(message);
    return;
  }
  throw new Error('expected INVALID_CACHE');
}

describe('reference cache blob', () => {
  const blob = serializeReferenceCache(cache, layout);

  it('stores float16 K/V (2 bytes a value) behind a small header and reads back the same float16 values', () => {
    const values = layout.reduce((sum, l) => sum + 2 * l.heads * l.tokens * l.dim, 0);
    expect(blob.length - 2 * values).toBeLessThan(512);
    const loaded = deserializeReferenceCache(blob, 'tryon-tiny@1', layout, 'TOP');
    expect(loaded.category).toBe('TOP');
    loaded.layers.forEach((layer, i) => {
      expect(Array.from(layer.k)).toEqual(Array.from(cache.layers[i]!.k));
      expect(Array.from(layer.v)).toEqual(Array.from(cache.layers[i]!.v));
    });
  });

  it('keeps the K/V float16 and in place: the loaded layers are views of the blob, no float32 copy', () => {
    const loaded = deserializeReferenceCache(blob, 'tryon-tiny@1', layout, 'TOP');
    for (const layer of loaded.layers) {
      for (const half of [layer.k, layer.v]) {
        expect(half).toBeInstanceOf(Uint16Array);
        expect(half.buffer).toBe(blob.buffer);
      }
    }
    expect(loaded.payloadSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads a blob at an odd byte offset (as it may sit inside a larger buffer)', () => {
    const shifted = Buffer.alloc(blob.length + 1);
    blob.copy(shifted, 1);
    expect(deserializeReferenceCache(shifted.subarray(1), 'tryon-tiny@1', layout).layers[0]!.k.length).toBe(48);
  });

  it('refuses damage, other models, other layouts and other categories', () => {
    const flipped = Buffer.from(blob);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
    expectInvalid(() => deserializeReferenceCache(flipped, 'tryon-tiny@1', layout), /checksum/);
    expectInvalid(() => deserializeReferenceCache(blob.subarray(0, blob.length - 4), 'tryon-tiny@1', layout), /payload/);
    expectInvalid(() => deserializeReferenceCache(blob.subarray(0, 10), 'tryon-tiny@1', layout), /magic|truncated/);
    expectInvalid(() => deserializeReferenceCache(blob, 'tryon-tiny@2', layout), /tryon-tiny@1/);
    expectInvalid(() => deserializeReferenceCache(blob, 'tryon-tiny@1', [layout[0]!]), /layout/);
    expectInvalid(() => deserializeReferenceCache(blob, 'tryon-tiny@1', layout, 'BAG'), /TOP/);
    const badHeader = Buffer.from(blob);
    badHeader[14] = 0x7b; // '{' inside the JSON header
    expectInvalid(() => deserializeReferenceCache(badHeader, 'tryon-tiny@1', layout), /header|checksum|model/);
  });
});

describe('person encoding blob', () => {
  const encoding: PersonEncoding = {
    modelId: 'tryon-tiny@1',
    photo: { width: 300, height: 400, sha256: 'a'.repeat(64) },
    width: 8,
    height: 4,
    pixels: Uint8Array.from({ length: 8 * 4 * 3 }, (_, i) => i),
    labels: Uint8Array.from({ length: 32 }, (_, i) => i % 5),
    latent: Float32Array.from({ length: 3 * 2 * 1 }, (_, i) => i / 7),
    latentShape: [3, 1, 2],
  };

  it('round-trips exactly', () => {
    const read = deserializePersonEncoding(serializePersonEncoding(encoding), 'tryon-tiny@1');
    expect(read.photo).toEqual(encoding.photo);
    expect(Array.from(read.pixels)).toEqual(Array.from(encoding.pixels));
    expect(Array.from(read.labels!)).toEqual(Array.from(encoding.labels!));
    expect(Array.from(read.latent)).toEqual(Array.from(encoding.latent));
  });

  it('refuses another model and damaged data', () => {
    const blob = serializePersonEncoding(encoding);
    expectInvalid(() => deserializePersonEncoding(blob, 'tryon-tiny@2'), /tryon-tiny@1/);
    const damaged = Buffer.from(blob);
    damaged[damaged.length - 3] = damaged[damaged.length - 3]! ^ 0xff;
    expectInvalid(() => deserializePersonEncoding(damaged, 'tryon-tiny@1'), /checksum/);
  });
});
