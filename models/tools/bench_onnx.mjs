// Cached vs uncached reference cost through onnxruntime-node: denoiser batch 2 (guidance) with 5 slots vs
// reference_encoder for 10 garments (5 cond + 5 uncond) per step. Usage: node models/tools/bench_onnx.mjs [threads]
import fs from 'node:fs'; import path from 'node:path'; import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const ort = require(path.resolve('node_modules/onnxruntime-node'));
const pkg='models/tryon-tiny';
const m = JSON.parse(fs.readFileSync(path.join(pkg,'manifest.json'),'utf8'));
const threads = Number(process.argv[2]??1);
const opt={intraOpNumThreads:threads, interOpNumThreads:1};
const ref = await ort.InferenceSession.create(path.join(pkg,'reference_encoder.onnx'),opt);
const den = await ort.InferenceSession.create(path.join(pkg,'denoiser.onnx'),opt);
const {channels:C,height:h,width:w}=m.latent;
const gl=(n)=>new ort.Tensor('float32', Float32Array.from({length:n*C*h*w},()=>Math.random()-0.5),[n,C,h,w]);
const kv = await ref.run({garment_latent: gl(1), category: new ort.Tensor('int64', BigInt64Array.from([0n]),[1])});
const S=5,B=2;
const feeds={sample:gl(B),timestep:new ort.Tensor('float32',Float32Array.from([500,500]),[B]),mask:new ort.Tensor('float32',new Float32Array(B*h*w).fill(1),[B,1,h,w]),masked_latent:gl(B),ref_mask:new ort.Tensor('float32',new Float32Array(B*S).fill(1),[B,S])};
m.kv.layers.forEach((l,i)=>{for(const kk of ['k','v']){const src=kv[`${kk}_${i}`].data;const d=new Float32Array(src.length*S*B);for(let s=0;s<S*B;s++)d.set(src,s*src.length);feeds[`ref_${kk}_${i}`]=new ort.Tensor('float32',d,[B,l.heads,S*l.tokens,l.dim]);}});
const time=async(f,n)=>{await f();const t=performance.now();for(let i=0;i<n;i++)await f();return (performance.now()-t)/n;};
const dn=await time(()=>den.run(feeds),30);
const r1=await time(()=>ref.run({garment_latent: gl(1), category: new ort.Tensor('int64', BigInt64Array.from([0n]),[1])}),30);
const r10=await time(()=>ref.run({garment_latent: gl(10), category: new ort.Tensor('int64', BigInt64Array.from(Array(10).fill(0n)),[10])}),10);
console.log(`threads ${threads}: denoiser B=2 S=5 ${dn.toFixed(2)} ms; ref x1 ${r1.toFixed(2)} ms; ref batch10 ${r10.toFixed(2)} ms; speedup(10 single calls) ${(1+10*r1/dn).toFixed(2)} speedup(batched) ${(1+r10/dn).toFixed(2)}`);
