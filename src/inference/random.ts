/**
 * Seeded noise for the sampler: xoshiro128** (seeded through splitmix32) plus Box-Muller.
 * Each render owns its own generator, so the noise a render draws does not depend on which
 * other renders share its denoiser calls, and the same seed gives the same image.
 */

/** Fills a 4-word xoshiro state from a seed; splitmix32 spreads nearby seeds far apart. */
function splitmix32State(seed: number): Uint32Array {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const low = seed >>> 0;
  const high = Math.floor(Math.abs(seed) / 4294967296) >>> 0;
  let mix = (low ^ Math.imul(high, 0x9e3779b9) ^ (seed < 0 ? 0x5bd1e995 : 0)) >>> 0;
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    mix = (mix + 0x9e3779b9) >>> 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    state[i] = (z ^ (z >>> 16)) >>> 0;
  }
  if (state[0] === 0 && state[1] === 0 && state[2] === 0 && state[3] === 0) state[0] = 1; // all-zero state is a fixed point
  return state;
}

export class SeededRandom {
  private readonly state: Uint32Array;
  private spareGaussian: number | undefined;

  constructor(seed: number) {
    this.state = splitmix32State(seed);
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Standard normal sample (Box-Muller; the second value of each pair is kept for the next call). */
  nextGaussian(): number {
    if (this.spareGaussian !== undefined) {
      const spare = this.spareGaussian;
      this.spareGaussian = undefined;
      return spare;
    }
    const u1 = 1 - this.nextDouble(); // (0, 1]: log stays finite
    const u2 = this.nextDouble();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareGaussian = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Fills `target` with standard normal samples. */
  fillGaussian(target: Float32Array): Float32Array {
    for (let i = 0; i < target.length; i++) target[i] = this.nextGaussian();
    return target;
  }
}

function rotl(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}
