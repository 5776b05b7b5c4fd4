/**
 * The shipped model package and its sample images, as the engine tests use them
 * (tests run against the real ONNX graphs, never stand-ins).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { GarmentCategory } from '../../src/inference';

export const MODEL_DIR = path.resolve(__dirname, '../../models/tryon-tiny');
/**
 * Format-2 test packages made by models/tools/export_fixtures.py (seeded random weights): the same model with its weights in one
 * external-data file, and in each graph.
 */
export const FORMAT2_EXTERNAL_DIR = path.resolve(__dirname, '../fixtures/models/tryon-v2-external');
export const FORMAT2_SINGLE_DIR = path.resolve(__dirname, '../fixtures/models/tryon-v2-single');

export interface SampleIndex {
  persons: { id: string; image: string; labels: string }[];
  garments: { id: string; category: GarmentCategory; image: string }[];
  heldout: { id: string; person: string; garments: string[]; categories: GarmentCategory[]; truth: string; mask: string }[];
}

export function readSampleIndex(modelDir = MODEL_DIR): SampleIndex {
  return JSON.parse(readFileSync(path.join(modelDir, 'samples/index.json'), 'utf8')) as SampleIndex;
}

export function readSample(relative: string, modelDir = MODEL_DIR): Buffer {
  return readFileSync(path.join(modelDir, 'samples', relative));
}

/** The `nth` (default first) sample garment of a category. */
export function sampleGarment(index: SampleIndex, category: GarmentCategory, modelDir = MODEL_DIR, nth = 0): Buffer {
  const garment = index.garments.filter((g) => g.category === category)[nth];
  if (garment === undefined) throw new Error(`the package has no sample ${category} garment #${nth}`);
  return readSample(garment.image, modelDir);
}

export async function rawRgb(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
