// The K/V memory formulas (docs/engine.md, "At FastFit's size") against what the engine
// allocates for the shipped package: its blob size, the concatenated slots of a render and
// the rows of a batch.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assembleBatch, concatenateSlots } from '../../src/inference/denoise-batcher';
import { kvMemoryPlan } from '../../src/inference/memory-plan';
import type { KvLayerLayout } from '../../src/inference/model-package';

const manifest = JSON.parse(readFileSync(path.resolve(__dirname, '../../models/tryon-tiny/manifest.json'), 'utf8')) as {
  kv: { bytesPerGarment: number; layers: KvLayerLayout[] };
  latent: { channels: number; height: number; width: number };
};
const layers = manifest.kv.layers;
const bytes = (arrays: { k: Float32Array; v: Float32Array }[]) => arrays.reduce((sum, a) => sum + a.k.byteLength + a.v.byteLength, 0);

test('the formulas give the sizes the engine allocates', () => {
  const garments = 3;
  const renders = 2;
  const plan = kvMemoryPlan(layers, garments, renders);
  expect(plan.blobPerGarment).toBe(manifest.kv.bytesPerGarment);
  const garment = layers.map((l) => ({ k: new Float32Array(l.heads * l.tokens * l.dim), v: new Float32Array(l.heads * l.tokens * l.dim) }));
  expect(bytes(garment)).toBe(plan.heldPerGarment);
  const conditional = concatenateSlots(Array.from({ length: garments }, () => garment), layers);
  const unconditional = concatenateSlots(Array.from({ length: garments }, () => garment), layers);
  expect(bytes(conditional) + bytes(unconditional)).toBe(plan.perRender);
  const { channels, height, width } = manifest.latent;
  const member = { mask: new Float32Array(height * width), maskedLatent: new Float32Array(channels * height * width), references: { slots: garments, conditional, unconditional } };
  const batch = assembleBatch(Array.from({ length: renders }, () => member), layers);
  expect([...batch.refK, ...batch.refV].reduce((sum, a) => sum + a.byteLength, 0)).toBe(plan.perBatch);
});
