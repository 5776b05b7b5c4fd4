/** float16 codec: exact on representable values, round-to-nearest-even, specials preserved. */
import { float16ToFloat32, float32ToFloat16, roundToFloat16 } from '../../src/inference/float16';

describe('float16 codec', () => {
  it('round-trips every finite float16 bit pattern exactly', () => {
    const all = new Uint16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i;
    const widened = float16ToFloat32(all);
    const back = float32ToFloat16(widened);
    const mismatches: number[] = [];
    for (let i = 0; i < all.length; i++) {
      const isNaN = ((i >>> 10) & 0x1f) === 31 && (i & 0x3ff) !== 0;
      if (isNaN ? !Number.isNaN(widened[i]) : back[i] !== i) mismatches.push(i);
    }
    expect(mismatches).toEqual([]);
  });

  it('encodes known values and specials', () => {
    const values = new Float32Array([0, -0, 1, -2, 65504, 65520, 1e6, -Infinity, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14, NaN]);
    const halves = Array.from(float32ToFloat16(values));
    expect(halves).toEqual([0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x0001, 0x0000, 0x0002, 0x0400, 0x7e00]);
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 is exactly halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
    // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even): rounds up.
    const values = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20]);
    expect(Array.from(float32ToFloat16(values))).toEqual([0x3c00, 0x3c02, 0x3c01]);
  });

  it('keeps relative error within half an ulp (2^-11) for normal values', () => {
    const values = new Float32Array(10000);
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4);
    const rounded = roundToFloat16(values);
    let worstRelative = 0;
    let worstSubnormal = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Math.abs(v) < 2 ** -14) worstSubnormal = Math.max(worstSubnormal, Math.abs(rounded[i]! - v));
      else worstRelative = Math.max(worstRelative, Math.abs(rounded[i]! - v) / Math.abs(v));
    }
    expect(worstRelative).toBeLessThanOrEqual(2 ** -11);
    expect(worstSubnormal).toBeLessThanOrEqual(2 ** -25);
  });
});
