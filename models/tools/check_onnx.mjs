// Compare every graph of a model package run by onnxruntime-node against the torch
// outputs written by export.py (models/tools/out/check/<graph>/spec.json + .bin).
// Usage (repository root): node models/tools/check_onnx.mjs [models/tryon-tiny] [models/tools/out/check]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require(path.resolve('node_modules/onnxruntime-node'));

const pkg = process.argv[2] ?? 'models/tryon-tiny';
const checkDir = process.argv[3] ?? 'models/tools/out/check';
const TOL = 1e-4;

function load(dir, t) {
  const buf = fs.readFileSync(path.join(dir, t.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = t.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
  return new ort.Tensor(t.dtype, data, t.dims);
}

let failed = false;
for (const graph of ['vae_encoder', 'vae_decoder', 'reference_encoder', 'denoiser', 'parser']) {
  const dir = path.join(checkDir, graph);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(pkg, `${graph}.onnx`));
  const feeds = {};
  for (const t of spec.inputs) feeds[t.name] = load(dir, t);
  const t0 = performance.now();
  const res = await session.run(feeds);
  const ms = performance.now() - t0;
  let worst = 0;
  for (const t of spec.outputs) {
    const want = load(dir, t).data;
    const got = res[t.name];
    if (!got) throw new Error(`${graph}: missing output ${t.name}`);
    if (JSON.stringify(got.dims) !== JSON.stringify(t.dims)) {
      throw new Error(`${graph}.${t.name}: dims ${got.dims} != ${t.dims}`);
    }
    let m = 0;
    for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got.data[i] - want[i]));
    worst = Math.max(worst, m);
  }
  const shapes = spec.inputs.map((t) => `${t.name}[${t.dims}]`).join(' ');
  const ok = worst < TOL;
  if (!ok) failed = true;
  console.log(`${ok ? 'OK  ' : 'FAIL'} ${graph}: max abs diff ${worst.toExponential(2)} (${ms.toFixed(1)} ms) ${graph === 'denoiser' ? shapes.slice(0, 200) : ''}`);
}

// dynamic shapes: denoiser with batch 1 and 1..5 slots, reference encoder on zeros
{
  const m = JSON.parse(fs.readFileSync(path.join(pkg, 'manifest.json'), 'utf8'));
  const { channels: C, height: h, width: w } = m.latent;
  const ref = await ort.InferenceSession.create(path.join(pkg, 'reference_encoder.onnx'));
  const den = await ort.InferenceSession.create(path.join(pkg, 'denoiser.onnx'));
  const kv = await ref.run({
    garment_latent: new ort.Tensor('float32', new Float32Array(C * h * w), [1, C, h, w]),
    category: new ort.Tensor('int64', BigInt64Array.from([2n]), [1]),
  });
  for (const S of [1, 5]) {
    const feeds = {
      sample: new ort.Tensor('float32', new Float32Array(C * h * w).fill(0.1), [1, C, h, w]),
      timestep: new ort.Tensor('float32', Float32Array.from([500]), [1]),
      mask: new ort.Tensor('float32', new Float32Array(h * w).fill(1), [1, 1, h, w]),
      masked_latent: new ort.Tensor('float32', new Float32Array(C * h * w), [1, C, h, w]),
      ref_mask: new ort.Tensor('float32', new Float32Array(S).fill(1), [1, S]),
    };
    m.kv.layers.forEach((l, i) => {
      for (const kk of ['k', 'v']) {
        const src = kv[`${kk}_${i}`].data;
        const d = new Float32Array(src.length * S);
        for (let s = 0; s < S; s++) d.set(src, s * src.length);
        feeds[`ref_${kk}_${i}`] = new ort.Tensor('float32', d, [1, l.heads, S * l.tokens, l.dim]);
      }
    });
    const reps = 5;
    await den.run(feeds);
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) await den.run(feeds);
    console.log(`denoiser batch 1, ${S} slot(s): ${((performance.now() - t0) / reps).toFixed(1)} ms`);
  }
  const t0 = performance.now();
  for (let r = 0; r < 5; r++) {
    await ref.run({
      garment_latent: new ort.Tensor('float32', new Float32Array(C * h * w), [1, C, h, w]),
      category: new ort.Tensor('int64', BigInt64Array.from([0n]), [1]),
    });
  }
  console.log(`reference_encoder: ${((performance.now() - t0) / 5).toFixed(1)} ms`);
}
process.exit(failed ? 1 : 0);
