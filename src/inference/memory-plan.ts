/**
 * What the engine's reference K/V cost in memory, from the same layouts it allocates: a
 * garment's blob (kv.dtype), its decoded copy in the hot cache, a render's concatenated slots
 * (conditional and unconditional, concatenateSlots) and a batch's rows (assembleBatch, two rows
 * per render padded to the batch's slot count). docs/engine.md ("At FastFit's size") and
 * `npm run plan:memory` apply it to FastFit-size layouts; a unit test holds it to the tiny package.
 */
import type { KvLayerLayout } from './model-package';

/** Bytes per element of the blob (float16) and of the engine's working copy (float32 today). */
export const BLOB_BYTES_PER_ELEMENT = 2;
export const DECODED_BYTES_PER_ELEMENT = 4;

/** K and V of every layer of one garment, in elements. */
export function kvElementsPerGarment(layers: readonly Pick<KvLayerLayout, 'heads' | 'tokens' | 'dim'>[]): number {
  return layers.reduce((sum, layer) => sum + 2 * layer.heads * layer.tokens * layer.dim, 0);
}

export interface KvMemoryPlan {
  /** One garment's cache blob (storage, transfer). */
  blobPerGarment: number;
  /** One garment held decoded in the hot cache (shared by every render that uses it). */
  heldPerGarment: number;
  /** One render's own copies: its garments' conditional K/V and their unconditional K/V, concatenated along tokens. */
  perRender: number;
  /** The denoiser's K/V inputs of one call: two rows per render, each `slots` garments wide. */
  perBatch: number;
}

/** K/V bytes for renders of `garments` garments each, `renders` of them sharing one denoiser call. */
export function kvMemoryPlan(layers: readonly Pick<KvLayerLayout, 'heads' | 'tokens' | 'dim'>[], garments: number, renders: number): KvMemoryPlan {
  const elements = kvElementsPerGarment(layers);
  const held = elements * DECODED_BYTES_PER_ELEMENT;
  return {
    blobPerGarment: elements * BLOB_BYTES_PER_ELEMENT,
    heldPerGarment: held,
    perRender: 2 * garments * held,
    perBatch: 2 * renders * garments * held,
  };
}
