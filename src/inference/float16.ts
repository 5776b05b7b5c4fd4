/**
 * IEEE 754 half-precision codec for reference caches: K/V tensors are stored as float16
 * (half the bytes of float32, the precision the model tolerates) and widened back to float32
 * where a graph takes float32 (package format 1). Node 20 has no Float16Array, so the conversion
 * works on the bit patterns.
 */

/** Converts float32 values to float16 bit patterns, rounding to nearest, ties to even (as numpy/torch do). */
export function float32ToFloat16(source: Float32Array, target: Uint16Array = new Uint16Array(source.length)): Uint16Array {
  if (target.length !== source.length) throw new RangeError(`float16 target holds ${target.length} values, source ${source.length}`);
  // Reading the bits through a view of the same memory avoids a per-value scratch buffer.
  const bits = new Uint32Array(source.buffer, source.byteOffset, source.length);
  for (let i = 0; i < source.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const abs = x & 0x7fffffff;
    let half: number;
    if (abs >= 0x7f800000) {
      // Infinity stays infinity; NaN stays a (quiet) NaN.
      half = sign | 0x7c00 | (abs > 0x7f800000 ? 0x0200 : 0);
    } else if (abs >= 0x477ff000) {
      // 65520 and above round to infinity (65504 is the largest finite half).
      half = sign | 0x7c00;
    } else if (abs < 0x38800000) {
      // Below the smallest normal half (2^-14): subnormal, in units of 2^-24.
      const scaled = Math.abs(source[i]!) * 16777216;
      let rounded = Math.floor(scaled);
      const fraction = scaled - rounded;
      if (fraction > 0.5 || (fraction === 0.5 && (rounded & 1) === 1)) rounded++;
      half = sign | rounded;
    } else {
      // Rebias the exponent (127 -> 15) and keep the top 10 mantissa bits; a rounding carry
      // correctly ripples into the exponent.
      half = (abs - 0x38000000) >>> 13;
      const remainder = abs & 0x1fff;
      if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half++;
      half |= sign;
    }
    target[i] = half;
  }
  return target;
}

/** float32 bit pattern of every float16 bit pattern (256 kB, built on first use): widening is one lookup a value. */
let widenTable: Uint32Array | null = null;

function float32BitsTable(): Uint32Array {
  if (widenTable !== null) return widenTable;
  const table = new Uint32Array(65536);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let half = 0; half < 65536; half++) {
    const sign = (half & 0x8000) << 16;
    const exponent = (half >>> 10) & 0x1f;
    const mantissa = half & 0x03ff;
    if (exponent === 0) {
      scratch[0] = (sign !== 0 ? -mantissa : mantissa) * 5.960464477539063e-8; // mantissa * 2^-24 (exact)
      table[half] = mantissa === 0 ? sign >>> 0 : scratchBits[0]!;
    } else if (exponent === 31) {
      table[half] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    } else {
      table[half] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    }
  }
  widenTable = table;
  return table;
}

/** Widens float16 bit patterns to float32 (exact: every half value is representable). */
export function float16ToFloat32(source: Uint16Array, target: Float32Array = new Float32Array(source.length)): Float32Array {
  if (target.length !== source.length) throw new RangeError(`float32 target holds ${target.length} values, source ${source.length}`);
  const bits = new Uint32Array(target.buffer, target.byteOffset, target.length);
  const table = float32BitsTable();
  for (let i = 0; i < source.length; i++) bits[i] = table[source[i]!]!;
  return target;
}

/** Rounds float32 values through float16 and back: what a tensor looks like after a cache round trip. */
export function roundToFloat16(values: Float32Array): Float32Array {
  return float16ToFloat32(float32ToFloat16(values));
}
