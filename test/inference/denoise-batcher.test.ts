/** Batch layout of the denoiser inputs: rows per render, slot concatenation and padding. */
import { assembleBatch, concatenateSlots } from '../../src/inference/denoise-batcher';
import type { KvLayerLayout } from '../../src/inference/model-package';

const layers: KvLayerLayout[] = [{ name: 'a', heads: 2, tokens: 3, dim: 2 }];
const perSlot = 2 * 3 * 2;

/** K/V of one garment whose every value encodes (garment, head, token, dim). */
function garment(id: number): { k: Float32Array; v: Float32Array }[] {
  const k = new Float32Array(perSlot);
  for (let h = 0; h < 2; h++) for (let t = 0; t < 3; t++) for (let d = 0; d < 2; d++) k[(h * 3 + t) * 2 + d] = id * 1000 + h * 100 + t * 10 + d;
  return [{ k, v: k.map((x) => -x) }];
}

describe('batch assembly', () => {
  it('concatenates garments along tokens, per head', () => {
    const [layer] = concatenateSlots([garment(1), garment(2)], layers);
    // head 0: tokens of garment 1 then garment 2; then head 1.
    const tokenIds = Array.from({ length: 2 * 6 }, (_, i) => layer!.k[i * 2]!);
    expect(tokenIds).toEqual([1000, 1010, 1020, 2000, 2010, 2020, 1100, 1110, 1120, 2100, 2110, 2120]);
    expect(layer!.v[0]).toBe(-1000);
  });

  it('puts conditional and unconditional rows per render and pads slots with zeros and ref_mask 0', () => {
    const one = { slots: 1, conditional: concatenateSlots([garment(1)], layers), unconditional: concatenateSlots([garment(9)], layers) };
    const two = { slots: 2, conditional: concatenateSlots([garment(2), garment(3)], layers), unconditional: concatenateSlots([garment(8), garment(8)], layers) };
    const member = (references: typeof one, fill: number) => ({ mask: new Float32Array(4).fill(fill), maskedLatent: new Float32Array(8).fill(fill), references });
    const batch = assembleBatch([member(one, 1), member(two, 2)], layers);
    expect(batch.rows).toBe(4);
    expect(batch.slots).toBe(2);
    expect(Array.from(batch.refMask)).toEqual([1, 0, 1, 0, 1, 1, 1, 1]);
    expect(Array.from(batch.mask)).toEqual([...Array(8).fill(1), ...Array(8).fill(2)]);
    const k = batch.refK[0]!;
    const rowStride = 2 * 2 * 3 * 2; // heads * slots * tokens * dim
    const firstToken = (row: number, head: number, slot: number) => k[row * rowStride + (head * 2 + slot) * 3 * 2]!;
    expect(firstToken(0, 0, 0)).toBe(1000); // render 0 conditional
    expect(firstToken(0, 0, 1)).toBe(0); // padding
    expect(firstToken(0, 1, 0)).toBe(1100);
    expect(firstToken(1, 0, 0)).toBe(9000); // render 0 unconditional
    expect(firstToken(2, 1, 1)).toBe(3100); // render 1 conditional, head 1, slot 1
    expect(firstToken(3, 0, 1)).toBe(8000);
  });
});
