/** Mask operations on synthetic label maps: argmax, union, square dilation, max-pool, pixel zeroing. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/project-paths';
import {
  dilateSquare,
  labelsFromLogits,
  maskPersonPixels,
  maxPoolMask,
  outfitMaskFromLabels,
  upsampleLatentMask,
} from '../../src/inference/masks';
import type { ParserSpec } from '../../src/inference/model-package';

const parser: ParserSpec = {
  labels: ['background', 'skin', 'top', 'bottom', 'dress', 'shoes'],
  categoryMask: {
    TOP: { labels: ['top', 'dress'], dilate: 1 },
    BOTTOM: { labels: ['bottom'], dilate: 0 },
    SHOES: { labels: ['shoes'], dilate: 2 },
  },
};

function grid(rows: string[]): Uint8Array {
  return Uint8Array.from(rows.join('').split('').map(Number));
}

describe('masks', () => {
  it('takes the per-pixel argmax of logits', () => {
    // 2 labels, 1x3 image
    const logits = new Float32Array([0, 5, -1, 1, 2, 3]);
    expect(Array.from(labelsFromLogits(logits, 2, 3, 1))).toEqual([1, 0, 1]);
  });

  it('dilates with a square structuring element', () => {
    const mask = grid(['00000', '00000', '00100', '00000', '00000']);
    expect(Array.from(dilateSquare(mask, 5, 5, 1))).toEqual(Array.from(grid(['00000', '01110', '01110', '01110', '00000'])));
    expect(Array.from(dilateSquare(mask, 5, 5, 0))).toEqual(Array.from(mask));
  });

  it('unions the dilated label sets of the outfit categories', () => {
    const labels = grid(['000000', '020000', '000000', '000000', '000030', '000000']);
    const top = outfitMaskFromLabels(labels, 6, 6, ['TOP'], parser);
    expect(Array.from(top)).toEqual(Array.from(grid(['111000', '111000', '111000', '000000', '000000', '000000'])));
    const outfit = outfitMaskFromLabels(labels, 6, 6, ['TOP', 'BOTTOM'], parser);
    expect(Array.from(outfit)).toEqual(Array.from(grid(['111000', '111000', '111000', '000000', '000010', '000000'])));
    expect(() => outfitMaskFromLabels(labels, 6, 6, ['BAG'], parser)).toThrow(/no mask rule for category BAG/);
  });

  it('equals the union of each category dilated alone, whatever radii the categories share', () => {
    const shipped = JSON.parse(readFileSync(join(projectRoot, 'models/tryon-tiny/manifest.json'), 'utf8')).parser;
    const [width, height] = [24, 32];
    let state = 7;
    const labels = Uint8Array.from(
      { length: width * height },
      () => ((state = (state * 1103515245 + 12345) % 2 ** 31) >> 16) % shipped.labels.length,
    );
    const categories = Object.keys(shipped.categoryMask);
    const expected = new Uint8Array(width * height);
    for (const category of categories) {
      const alone = outfitMaskFromLabels(labels, width, height, [category], shipped);
      for (let p = 0; p < alone.length; p++) expected[p] = expected[p]! | alone[p]!;
    }
    expect(Array.from(outfitMaskFromLabels(labels, width, height, categories, shipped))).toEqual(Array.from(expected));
  });

  it('max-pools to latent resolution and upsamples back to whole cells', () => {
    const mask = grid(['1000', '0000', '0000', '0001']);
    const pooled = maxPoolMask(mask, 4, 4, 2);
    expect(Array.from(pooled)).toEqual([1, 0, 0, 1]);
    expect(Array.from(upsampleLatentMask(pooled, 2, 2, 2))).toEqual(Array.from(grid(['1100', '1100', '0011', '0011'])));
    expect(() => maxPoolMask(mask, 4, 4, 3)).toThrow(RangeError);
  });

  it('zeroes masked pixels in all three channels', () => {
    const chw = Float32Array.from([1, 2, 3, 4, 5, 6]); // 3 channels x 2 pixels
    expect(Array.from(maskPersonPixels(chw, Uint8Array.from([0, 1])))).toEqual([1, 0, 3, 0, 5, 0]);
  });
});
