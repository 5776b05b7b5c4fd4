// Compare every graph of a model package run by onnxruntime-node against the torch
// outputs written by export.py (<check dir>/<case>/spec.json + .bin; a case named
// reference_encoder_top runs reference_encoder.onnx). float16 tensors are compared as float32.
// Usage (repository root): node models/tools/check_onnx.mjs [models/tryon-tiny] [models/tools/out/check]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require(path.resolve('node_modules/onnxruntime-node'));

const pkg = process.argv[2] ?? 'models/tryon-tiny';
const checkDir = process.argv[3] ?? 'models/tools/out/check';
const TOL = 1e-4;
const ARRAYS = { int64: BigInt64Array, int32: Int32Array, float16: Uint16Array, float32: Float32Array };

function load(dir, t) {
  const buf = fs.readFileSync(path.join(dir, t.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return new ort.Tensor(t.dtype, new ARRAYS[t.dtype](ab), t.dims);
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
const asFloats = (t) => (t.type === 'float16' ? Float32Array.from(t.data, halfToFloat) : t.data);

let failed = false;
const cases = fs.readdirSync(checkDir).filter((d) => fs.existsSync(path.join(checkDir, d, 'spec.json'))).sort();
for (const name of cases) {
  const graph = name.startsWith('reference_encoder') ? 'reference_encoder' : name;
  const dir = path.join(checkDir, name);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(pkg, `${graph}.onnx`));
  const feeds = {};
  for (const t of spec.inputs) feeds[t.name] = load(dir, t);
  const t0 = performance.now();
  const res = await session.run(feeds);
  const ms = performance.now() - t0;
  let worst = 0;
  for (const t of spec.outputs) {
    const want = asFloats(load(dir, t));
    const got = res[t.name];
    if (!got) throw new Error(`${name}: missing output ${t.name}`);
    if (JSON.stringify(got.dims) !== JSON.stringify(t.dims)) {
      throw new Error(`${name}.${t.name}: dims ${got.dims} != ${t.dims}`);
    }
    const data = asFloats(got);
    // float16 outputs: one unit in the last place of the larger value
    const tol = (i) => (t.dtype === 'float16' ? Math.max(TOL, Math.abs(want[i]) * 2 ** -10) : TOL);
    let m = 0;
    for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(data[i] - want[i]) - tol(i) + TOL);
    worst = Math.max(worst, m);
  }
  const shapes = spec.inputs.map((t) => `${t.name}[${t.dims}]`).join(' ');
  const ok = worst < TOL;
  if (!ok) failed = true;
  console.log(`${ok ? 'OK  ' : 'FAIL'} ${name}: max abs diff ${worst.toExponential(2)} (${ms.toFixed(1)} ms) ${graph === 'denoiser' ? shapes.slice(0, 200) : ''}`);
}

// dynamic shapes (format 1 only): denoiser with batch 1 and 1..5 slots, reference encoder on zeros
const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'manifest.json'), 'utf8'));
if (manifest.format === 1) {
  const m = manifest;
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
