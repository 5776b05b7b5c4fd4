/**
 * ReferenceCache: a garment's per-layer self-attention K/V, the step-independent part of the
 * FastFit denoiser. Computed once per garment (when it enters the catalog), serialized as
 * float16 in a checksummed envelope stamped with the model id, category and layer layout, so
 * a cache from another model, or a damaged one, is refused instead of producing garbage.
 * K/V stay float16 in memory (bit patterns in Uint16Arrays): a loaded cache is a view of its
 * blob, never widened to float32 (format-1 graphs get float32 only in their batch tensors).
 */
import { alignedView, readEnvelope, writeEnvelope } from './blob-envelope';
import { InferenceError } from './errors';
import { float16ToFloat32, float32ToFloat16 } from './float16';
import type { KvLayerLayout } from './model-package';

export const REFERENCE_CACHE_MAGIC = 'ATRC';
export const REFERENCE_CACHE_FORMAT = 1;

/** K and V of one self-attention layer, each [heads, tokens, dim] float16 bit patterns (batch dimension of 1 dropped). */
export interface LayerKV {
  k: Uint16Array;
  v: Uint16Array;
}

/** The same in float32 (diagnostics and tests only). */
export interface LayerKVFloat32 {
  k: Float32Array;
  v: Float32Array;
}

export interface ReferenceCache {
  modelId: string;
  category: string;
  layers: LayerKV[];
}

/** A cache read from a blob: its layers are views of the blob's payload. */
export interface LoadedReferenceCache extends ReferenceCache {
  /** sha256 of the payload: equal digests mean equal K/V (a denoiser call's K/V bank stores them once). */
  payloadSha256: string;
}

/** Float16 K/V from a graph's output: float32 (format 1) is rounded to nearest even, float16 is taken as it is. */
export function toHalfLayer(k: Float32Array | Uint16Array, v: Float32Array | Uint16Array): LayerKV {
  return { k: k instanceof Uint16Array ? k : float32ToFloat16(k), v: v instanceof Uint16Array ? v : float32ToFloat16(v) };
}

export function widenLayer(layer: LayerKV): LayerKVFloat32 {
  return { k: float16ToFloat32(layer.k), v: float16ToFloat32(layer.v) };
}

export function layerElementCount(layer: KvLayerLayout): number {
  return layer.heads * layer.tokens * layer.dim;
}

export function serializeReferenceCache(cache: ReferenceCache, layout: readonly KvLayerLayout[]): Buffer {
  if (cache.layers.length !== layout.length) throw new RangeError(`cache has ${cache.layers.length} layers, layout ${layout.length}`);
  const parts: Uint8Array[] = [];
  cache.layers.forEach((layer, i) => {
    const expected = layerElementCount(layout[i]!);
    for (const half of [layer.k, layer.v]) {
      if (half.length !== expected) throw new RangeError(`layer ${layout[i]!.name}: ${half.length} values, layout says ${expected}`);
      parts.push(new Uint8Array(half.buffer, half.byteOffset, half.byteLength));
    }
  });
  const header = {
    modelId: cache.modelId,
    category: cache.category,
    dtype: 'float16',
    layers: layout.map(({ name, heads, tokens, dim }) => ({ name, heads, tokens, dim })),
  };
  return writeEnvelope(REFERENCE_CACHE_MAGIC, REFERENCE_CACHE_FORMAT, header, parts);
}

/**
 * Reads a serialized cache (float16 views of the blob's payload, no copy when it is aligned), checking it belongs to `modelId`, has the
 * model's layer layout and (when given) the expected category. Throws INVALID_CACHE otherwise.
 */
export function deserializeReferenceCache(
  blob: Uint8Array,
  modelId: string,
  layout: readonly KvLayerLayout[],
  expectedCategory?: string,
): LoadedReferenceCache {
  const { header, payload } = readEnvelope(blob, REFERENCE_CACHE_MAGIC, REFERENCE_CACHE_FORMAT, 'reference cache');
  if (header['modelId'] !== modelId) {
    throw new InferenceError(
      'INVALID_CACHE',
      `reference cache was computed by model ${String(header['modelId'])}, this engine runs ${modelId}; recompute it`,
    );
  }
  const category = header['category'];
  if (typeof category !== 'string') throw new InferenceError('INVALID_CACHE', 'reference cache header has no category');
  if (expectedCategory !== undefined && category !== expectedCategory) {
    throw new InferenceError('INVALID_CACHE', `reference cache holds a ${category} garment, the request says ${expectedCategory}`);
  }
  if (header['dtype'] !== 'float16')
    throw new InferenceError('INVALID_CACHE', `reference cache dtype ${String(header['dtype'])} is not float16`);
  const layers = header['layers'];
  const sameLayout =
    Array.isArray(layers) &&
    layers.length === layout.length &&
    layout.every((expected, i) => {
      const actual = layers[i] as Partial<KvLayerLayout> | undefined;
      return (
        actual?.name === expected.name &&
        actual.heads === expected.heads &&
        actual.tokens === expected.tokens &&
        actual.dim === expected.dim
      );
    });
  if (!sameLayout) throw new InferenceError('INVALID_CACHE', "reference cache layer layout differs from the model's");
  const expectedBytes = layout.reduce((sum, layer) => sum + 2 * 2 * layerElementCount(layer), 0);
  if (payload.length !== expectedBytes)
    throw new InferenceError('INVALID_CACHE', `reference cache payload is ${payload.length} bytes, layout needs ${expectedBytes}`);

  const halves = alignedView(payload, Uint16Array);
  let offset = 0;
  const decoded: LayerKV[] = layout.map((layer) => {
    const count = layerElementCount(layer);
    const k = halves.subarray(offset, offset + count);
    offset += count;
    const v = halves.subarray(offset, offset + count);
    offset += count;
    return { k, v };
  });
  return { modelId, category, layers: decoded, payloadSha256: String(header['payloadSha256']) };
}
