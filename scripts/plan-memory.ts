/**
 * The engine's K/V memory at FastFit's size (SD1.5 U-Net: 16 self-attention layers at
 * 320/640/1280 channels, 8 heads, latent = image / 8), from src/inference/memory-plan.ts, at
 * 512x384 and 1024x768, and for the installed package. Prints a table, then one JSON line.
 *
 *   npm run plan:memory [-- --garments 4 --renders 8]
 *
 * 4 garments: the largest valid outfit (TOP + BOTTOM + SHOES + BAG).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kvMemoryPlan } from '../src/inference/memory-plan';
import { numberFlag } from './bench-support';

interface Layer {
  name: string;
  heads: number;
  tokens: number;
  dim: number;
}

/** SD1.5's self-attention layers for an image of width x height (down 2+2+2, mid 1, up 3+3+3). */
function sd15Layers(width: number, height: number): Layer[] {
  const tokens = (level: number) => (width / 8 / 2 ** level) * (height / 8 / 2 ** level);
  const layer = (name: string, channels: number, level: number): Layer => ({ name, heads: 8, tokens: tokens(level), dim: channels / 8 });
  return [
    ...[0, 1].map((i) => layer(`down0.${i}`, 320, 0)),
    ...[0, 1].map((i) => layer(`down1.${i}`, 640, 1)),
    ...[0, 1].map((i) => layer(`down2.${i}`, 1280, 2)),
    layer('mid', 1280, 3),
    ...[0, 1, 2].map((i) => layer(`up1.${i}`, 1280, 2)),
    ...[0, 1, 2].map((i) => layer(`up2.${i}`, 640, 1)),
    ...[0, 1, 2].map((i) => layer(`up3.${i}`, 320, 0)),
  ];
}

/** A person encoding: latent (4 channels, float32) + RGB pixels + labels at the person size. */
const personEncodingBytes = (width: number, height: number) => 4 * (width / 8) * (height / 8) * 4 + width * height * 3 + width * height;

const garments = numberFlag('--garments', 4);
const renders = numberFlag('--renders', 8);
const mb = (bytes: number) => Number((bytes / 1e6).toFixed(1));

const rows: Record<string, ReturnType<typeof kvMemoryPlan> & { personEncoding: number }> = {};
for (const [width, height] of [
  [384, 512],
  [768, 1024],
] as const) {
  rows[`fastfit ${height}x${width}`] = {
    ...kvMemoryPlan(sd15Layers(width, height), garments, renders),
    personEncoding: personEncodingBytes(width, height),
  };
}
const manifest = JSON.parse(readFileSync(path.resolve('models/tryon-tiny/manifest.json'), 'utf8')) as {
  name: string;
  kv: { layers: Layer[] };
  person: { width: number; height: number };
};
rows[manifest.name] = { ...kvMemoryPlan(manifest.kv.layers, garments, renders), personEncoding: NaN };

console.log(`K/V memory, ${garments} garments per render, ${renders} renders per denoiser call (MB = 10^6 bytes)`);
console.log('model                 blob/garment  held/garment  batch fmt1  batch fmt2');
for (const [name, plan] of Object.entries(rows)) {
  console.log(
    `${name.padEnd(20)} ${String(mb(plan.blobPerGarment)).padStart(13)} ${String(mb(plan.heldPerGarment)).padStart(13)} ${String(mb(plan.perBatchPerRow)).padStart(11)} ${String(mb(plan.perBatchBank)).padStart(11)}`,
  );
}
console.log(
  JSON.stringify({
    garments,
    renders,
    mb: Object.fromEntries(
      Object.entries(rows).map(([name, plan]) => [name, Object.fromEntries(Object.entries(plan).map(([k, v]) => [k, mb(v)]))]),
    ),
  }),
);
