// The K/V memory formulas (docs/engine.md, "At FastFit's size") against what the engine
// allocates for the shipped package: its blob size, what the hot cache holds of a decoded blob,
// and the reference inputs of a batch in both package formats' layouts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assembleBatch, type ReferenceEntry } from '../../src/inference/denoise-batcher';
import { retainedBytes } from '../../src/inference/hot-cache';
import { kvMemoryPlan } from '../../src/inference/memory-plan';
import type { KvLayerLayout } from '../../src/inference/model-package';
import { deserializeReferenceCache, serializeReferenceCache } from '../../src/inference/reference-cache';

const manifest = JSON.parse(readFileSync(path.resolve(__dirname, '../../models/tryon-tiny/manifest.json'), 'utf8')) as {
  kv: { bytesPerGarment: number; layers: KvLayerLayout[] };
  latent: { channels: number; height: number; width: number };
};
const layers = manifest.kv.layers;
const garmentLayers = () =>
  layers.map((l) => ({ k: new Uint16Array(l.heads * l.tokens * l.dim), v: new Uint16Array(l.heads * l.tokens * l.dim) }));
const entry = (key: string): ReferenceEntry => ({ key, layers: garmentLayers(), tokens: layers.map((l) => l.tokens) });

test('the formulas give the sizes the engine allocates', () => {
  const garments = 3;
  const renders = 2;
  const plan = kvMemoryPlan(layers, garments, renders);
  expect(plan.blobPerGarment).toBe(manifest.kv.bytesPerGarment);

  // Held: the decoded cache is views of its blob; the hot cache counts the blob (header included).
  const blob = serializeReferenceCache({ modelId: 'm', category: 'TOP', layers: garmentLayers() }, layers);
  const tight = new Uint8Array(blob); // as a hot blob arrives in the worker: a buffer of its own
  const cache = deserializeReferenceCache(tight, 'm', layers, 'TOP');
  const held = retainedBytes(cache.layers.flatMap((l) => [l.k, l.v]));
  expect(held).toBe(tight.byteLength);
  expect(held - plan.heldPerGarment).toBeGreaterThan(0);
  expect(held - plan.heldPerGarment).toBeLessThan(4096);

  const { channels, height, width } = manifest.latent;
  const unconditional = Array.from({ length: garments }, (_, g) => entry(`unconditional:${g}`));
  const members = Array.from({ length: renders }, (_, r) => ({
    mask: new Float32Array(height * width),
    maskedLatent: new Float32Array(channels * height * width),
    references: { conditional: Array.from({ length: garments }, (_, g) => entry(`garment:${r}:${g}`)), unconditional },
  }));
  expect(assembleBatch(members, layers, 'perRow').kvBytes).toBe(plan.perBatchPerRow);
  expect(assembleBatch(members, layers, 'bank').kvBytes).toBe(plan.perBatchBank);
  // Two renders wearing the same garments: the bank holds them once.
  const shared = members.map((m) => ({ ...m, references: members[0]!.references }));
  expect(assembleBatch(shared, layers, 'bank').kvBytes).toBe(kvMemoryPlan(layers, garments, renders, garments).perBatchBank);
});
