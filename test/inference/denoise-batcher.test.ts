/** Batch layout of the denoiser inputs: format 1's float32 rows, format 2's float16 banks with per-row indices. */
import {
  assembleBatch,
  type BankReferences,
  type KvLayerShape,
  type PerRowReferences,
  type ReferenceEntry,
} from '../../src/inference/denoise-batcher';
import { float16ToFloat32, float32ToFloat16 } from '../../src/inference/float16';

const layers: KvLayerShape[] = [{ heads: 2, dim: 2 }];

/** A reference of `tokens` tokens whose every value encodes (id, head, token, dim) exactly in float16. */
function reference(key: string, id: number, tokens: number, dims = 2): ReferenceEntry {
  const values = new Float32Array(2 * tokens * dims);
  for (let h = 0; h < 2; h++)
    for (let t = 0; t < tokens; t++) for (let d = 0; d < dims; d++) values[(h * tokens + t) * dims + d] = code(id, h, t, d % 2);
  const k = float32ToFloat16(values);
  return { key, layers: [{ k, v: float32ToFloat16(values.map((x) => -x)) }], tokens: [tokens] };
}

function code(id: number, head: number, token: number, dim: number): number {
  return ((id * 2 + head) * 8 + token) * 2 + dim; // < 2048: exact in float16
}

const member = (conditional: ReferenceEntry[], unconditional: ReferenceEntry[], fill: number) => ({
  mask: new Float32Array(4).fill(fill),
  maskedLatent: new Float32Array(8).fill(fill),
  references: { conditional, unconditional },
});

describe('batch assembly, format 1 (float32 per row)', () => {
  it('puts conditional and unconditional rows per render, widens float16 into them and pads slots with zeros and ref_mask 0', () => {
    const one = member([reference('a', 1, 3)], [reference('u', 9, 3)], 1);
    const two = member([reference('b', 2, 3), reference('c', 3, 3)], [reference('u', 9, 3), reference('u', 9, 3)], 2);
    const batch = assembleBatch([one, two], layers, 'perRow');
    const refs = batch.references as PerRowReferences;
    expect(batch.rows).toBe(4);
    expect(refs.kind).toBe('perRow');
    expect(refs.slots).toBe(2);
    expect(Array.from(refs.mask)).toEqual([1, 0, 1, 0, 1, 1, 1, 1]);
    expect(Array.from(batch.mask)).toEqual([...Array(8).fill(1), ...Array(8).fill(2)]);
    const k = refs.k[0]!;
    expect(k).toBeInstanceOf(Float32Array);
    const rowStride = 2 * 2 * 3 * 2; // heads * slots * tokens * dim
    const firstToken = (row: number, head: number, slot: number) => k[row * rowStride + (head * 2 + slot) * 3 * 2]!;
    expect(firstToken(0, 0, 0)).toBe(code(1, 0, 0, 0)); // render 0 conditional
    expect(firstToken(0, 0, 1)).toBe(0); // padding
    expect(firstToken(0, 1, 0)).toBe(code(1, 1, 0, 0));
    expect(firstToken(1, 0, 0)).toBe(code(9, 0, 0, 0)); // render 0 unconditional
    expect(firstToken(2, 1, 1)).toBe(code(3, 1, 0, 0)); // render 1 conditional, head 1, slot 1
    expect(refs.v[0]![2 * rowStride + (1 * 2 + 1) * 3 * 2]).toBe(-code(3, 1, 0, 0));
    expect(batch.kvBytes).toBe(batch.perRowFloat32Bytes);
  });
});

describe('batch assembly, format 2 (float16 bank + per-row token indices)', () => {
  /** The float32 value row `row` sees at its `position`-th reference token (head, dim), or null for padding. */
  function seen(refs: BankReferences, row: number, position: number, head: number, dim: number): number | null {
    const width = refs.rowTokens[0]!;
    const token = refs.index[0]![row * width + position]!;
    if (token < 0) return null;
    const total = refs.bankTokens[0]!;
    return float16ToFloat32(refs.k[0]!.subarray((head * total + token) * 2 + dim, (head * total + token) * 2 + dim + 1))[0]!;
  }

  it('stores a garment shared by two renders and a shared unconditional reference once, and points every row at its own tokens', () => {
    const top = reference('top', 1, 4);
    const shoes = reference('shoes', 2, 2); // a smaller reference size: fewer tokens
    const bag = reference('bag', 3, 2);
    const uTop = reference('u-top', 7, 4);
    const uShoes = reference('u-shoes', 8, 2);
    const uBag = reference('u-bag', 9, 2);
    const a = member([top, shoes], [uTop, uShoes], 1);
    const b = member([top, bag], [uTop, uBag], 2);
    const c = member([top], [uTop], 3);
    const batch = assembleBatch([a, b, c], layers, 'bank');
    const refs = batch.references as BankReferences;
    expect(refs.kind).toBe('bank');
    expect(refs.k[0]).toBeInstanceOf(Uint16Array);
    // top, shoes, u-top, u-shoes, bag, u-bag: each once.
    expect(refs.bankTokens).toEqual([4 + 2 + 4 + 2 + 2 + 2]);
    expect(refs.k[0]!.length).toBe(2 * 16 * 2);
    expect(refs.rowTokens).toEqual([6]);
    expect(batch.rows).toBe(6);
    // Row 0 (a, conditional): the top's 4 tokens then the shoes' 2.
    expect([0, 1, 2, 3, 4, 5].map((p) => seen(refs, 0, p, 1, 1))).toEqual([0, 1, 2, 3, 0, 1].map((t, i) => code(i < 4 ? 1 : 2, 1, t, 1)));
    // Row 3 (b, unconditional): u-top then u-bag.
    expect(seen(refs, 3, 0, 0, 0)).toBe(code(7, 0, 0, 0));
    expect(seen(refs, 3, 4, 0, 1)).toBe(code(9, 0, 0, 1));
    // Row 4 (c, conditional): the same top tokens as row 0, then padding.
    expect(Array.from(refs.index[0]!.subarray(4 * 6, 5 * 6))).toEqual([...Array.from(refs.index[0]!.subarray(0, 4)), -1, -1]);
    expect(Array.from(refs.index[0]!.subarray(5 * 6, 6 * 6)).slice(4)).toEqual([-1, -1]);
    // V is laid out like K.
    const total = refs.bankTokens[0]!;
    const token = refs.index[0]![2 * 6 + 5]!; // row 2 (b, conditional), the bag's second token
    expect(float16ToFloat32(refs.v[0]!.subarray((0 * total + token) * 2, (0 * total + token) * 2 + 1))[0]).toBe(-code(3, 0, 1, 0));
  });

  it('needs at most a quarter of the per-row float32 bytes for 8 renders of 4 garments over shared garments', () => {
    const categories = [
      { name: 'TOP', tokens: 4 },
      { name: 'BOTTOM', tokens: 4 },
      { name: 'SHOES', tokens: 1 },
      { name: 'BAG', tokens: 1 },
    ];
    const wide: KvLayerShape[] = [{ heads: 2, dim: 16 }];
    const unconditional = categories.map((c, i) => reference(`u-${c.name}`, 90 + i, c.tokens, 16));
    // Four garments per category, render r wears garment r % 4 of each (each garment shared by two renders).
    const members = Array.from({ length: 8 }, (_, r) =>
      member(
        categories.map((c, i) => reference(`${c.name}-${r % 4}`, i * 4 + (r % 4), c.tokens, 16)),
        unconditional,
        r,
      ),
    );
    const bank = assembleBatch(members, wide, 'bank');
    // Per row in float32: 16 rows x 10 tokens x (K + V) x heads 2 x dim 16 x 4 bytes, plus ref_mask 16 x 4 slots.
    expect(bank.perRowFloat32Bytes).toBe(16 * 10 * 2 * 2 * 16 * 4 + 16 * 4 * 4);
    // Bank: 16 garments + 4 unconditional references = 50 tokens of float16 K and V, plus 16 x 10 int32 indices.
    expect(bank.kvBytes).toBe(50 * 2 * 2 * 16 * 2 + 16 * 10 * 4);
    expect(bank.kvBytes).toBeLessThanOrEqual(bank.perRowFloat32Bytes / 4);
  });
});
