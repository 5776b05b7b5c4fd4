/**
 * The shipped model package and its sample images, as the engine tests use them
 * (tests run against the real ONNX graphs, never stand-ins).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { GarmentCategory } from '../../src/inference';

export const MODEL_DIR = path.resolve(__dirname, '../../models/tryon-tiny');

export interface SampleIndex {
  persons: { id: string; image: string; labels: string }[];
  garments: { id: string; category: GarmentCategory; image: string }[];
  heldout: { id: string; person: string; garments: string[]; categories: GarmentCategory[]; truth: string; mask: string }[];
}

export function readSampleIndex(): SampleIndex {
  return JSON.parse(readFileSync(path.join(MODEL_DIR, 'samples/index.json'), 'utf8')) as SampleIndex;
}

export function readSample(relative: string): Buffer {
  return readFileSync(path.join(MODEL_DIR, 'samples', relative));
}

/** The first sample garment of a category. */
export function sampleGarment(index: SampleIndex, category: GarmentCategory): Buffer {
  const garment = index.garments.find((g) => g.category === category);
  if (garment === undefined) throw new Error(`the package has no sample ${category} garment`);
  return readSample(garment.image);
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
