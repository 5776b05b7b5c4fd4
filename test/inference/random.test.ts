/** SeededRandom: reproducible per seed, distinct across seeds, roughly standard normal. */
import { SeededRandom } from '../../src/inference/random';

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new SeededRandom(42).fillGaussian(new Float32Array(1000));
    const b = new SeededRandom(42).fillGaussian(new Float32Array(1000));
    const c = new SeededRandom(43).fillGaussian(new Float32Array(1000));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('uses the high bits of seeds above 2^32', () => {
    const low = new SeededRandom(7).nextUint32();
    const high = new SeededRandom(7 + 2 ** 32).nextUint32();
    expect(low).not.toBe(high);
  });

  it('draws standard normal values', () => {
    const values = new SeededRandom(1).fillGaussian(new Float32Array(200000));
    let sum = 0;
    let squares = 0;
    for (const v of values) {
      sum += v;
      squares += v * v;
    }
    const mean = sum / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(squares / values.length - mean * mean - 1)).toBeLessThan(0.02);
  });

  it('draws uniform doubles in [0, 1)', () => {
    const random = new SeededRandom(3);
    for (let i = 0; i < 10000; i++) {
      const u = random.nextDouble();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });

  it('refuses seeds that are not safe integers', () => {
    expect(() => new SeededRandom(1.5)).toThrow(RangeError);
  });
});
