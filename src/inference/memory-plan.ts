/**
 * What the engine's reference K/V cost in memory, from the same layouts it allocates: a
 * garment's blob (float16), what the hot cache holds of it (the decoded cache is float16 views
 * of the blob, so the blob itself), and one denoiser call's reference inputs (assembleBatch) in
 * either package format: format 1 copies every row's K/V into float32 [rows, heads, slots*tokens,
 * dim] plus ref_mask; format 2 sends each distinct reference once in a float16 bank plus int32
 * token indices per row. Renders share the held K/V by reference: a render makes no copy of its
 * own. docs/engine.md ("At FastFit's size") and `npm run plan:memory` apply it to FastFit-size
 * layouts; a unit test holds it to what assembleBatch allocates.
 */
import type { KvLayerLayout } from './model-package';

/** Bytes per K/V element of the blob and of what the hot cache holds (float16), and of format 1's batch tensors (float32). */
export const BLOB_BYTES_PER_ELEMENT = 2;
export const HELD_BYTES_PER_ELEMENT = 2;
export const PER_ROW_BYTES_PER_ELEMENT = 4;

type LayerSize = Pick<KvLayerLayout, 'heads' | 'tokens' | 'dim'>;

/** K and V of every layer of one garment, in elements. */
export function kvElementsPerGarment(layers: readonly LayerSize[]): number {
  return layers.reduce((sum, layer) => sum + 2 * layer.heads * layer.tokens * layer.dim, 0);
}

export interface KvMemoryPlan {
  /** One garment's cache payload (storage, transfer; the blob adds a small header). */
  blobPerGarment: number;
  /** One garment held in the hot cache (shared by every render that uses it): its blob's float16 payload. */
  heldPerGarment: number;
  /** Format 1: one denoiser call's reference inputs, float32 K/V copied per row (two rows per render) plus ref_mask. */
  perBatchPerRow: number;
  /** Format 2: the same call's float16 bank (each distinct garment, and each category's unconditional K/V, once) plus int32 indices. */
  perBatchBank: number;
}

/**
 * K/V bytes for renders of `garments` garments each (one per category, every category's
 * reference of this size), `renders` of them sharing one denoiser call, wearing
 * `distinctGarments` different garments between them (default: none shared).
 */
export function kvMemoryPlan(
  layers: readonly LayerSize[],
  garments: number,
  renders: number,
  distinctGarments = garments * renders,
): KvMemoryPlan {
  const elements = kvElementsPerGarment(layers);
  const rows = 2 * renders;
  const rowTokens = layers.reduce((sum, layer) => sum + garments * layer.tokens, 0);
  return {
    blobPerGarment: elements * BLOB_BYTES_PER_ELEMENT,
    heldPerGarment: elements * HELD_BYTES_PER_ELEMENT,
    perBatchPerRow: rows * garments * elements * PER_ROW_BYTES_PER_ELEMENT + 4 * rows * garments,
    // The unconditional K/V: one entry per category worn, shared by every render.
    perBatchBank: (distinctGarments + garments) * elements * BLOB_BYTES_PER_ELEMENT + 4 * rows * rowTokens,
  };
}
