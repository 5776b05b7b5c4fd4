/**
 * ModelSessions: one onnxruntime session per graph of a verified package, created once, with
 * typed helpers that speak the package contract's exact input/output names. With
 * execution-providers.ts, the only code that imports onnxruntime-node.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { InferenceError } from './errors';
import { PARSER_GRAPH, type ModelManifest, type ModelPackage, type ReferenceLayout } from './model-package';
import type { DenoiserBatch } from './denoise-batcher';

/** A layer's K/V as reference_encoder returns them: float32 (format 1) or float16 bit patterns (format 2). */
export interface GraphLayerKV {
  k: Float32Array | Uint16Array;
  v: Float32Array | Uint16Array;
}

export class ModelSessions {
  private constructor(
    private readonly manifest: ModelManifest,
    private readonly format: 1 | 2,
    private readonly vaeEncoder: ort.InferenceSession,
    private readonly vaeDecoder: ort.InferenceSession,
    private readonly referenceEncoder: ort.InferenceSession,
    private readonly denoiser: ort.InferenceSession,
    private readonly parser: ort.InferenceSession | null,
    /** Per graph file: the execution provider it runs on first. */
    readonly graphProviders: Readonly<Record<string, string>>,
  ) {}

  /**
   * Opens every graph and checks its inputs/outputs against the contract. The denoiser and the
   * reference encoder (nearly all of the compute) get `threads` intra-op threads; the small VAE
   * and parser graphs run on the calling thread alone: with a thread pool of their own, each
   * call paid for waking it and its idle threads spun against the denoiser's (measured: a
   * render's preparation and final decode took 1.5-2x as long at threads 2).
   */
  static async open(
    pkg: ModelPackage,
    threads: number,
    providers: readonly string[] = ['cpu'],
    onWarning: (message: string) => void = () => {},
  ): Promise<ModelSessions> {
    const graphProviders: Record<string, string> = {};
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [...providers],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Flush denormals to zero: late denoising steps produce subnormal activations, which
      // made real denoiser calls ~40% slower than the same call on random inputs.
      extra: { session: { set_denormal_as_zero: '1' } },
    };
    const layers = pkg.kvLayers;
    const kvNames = (prefix: string): string[] => layers.flatMap((_, i) => [`${prefix}k_${i}`, `${prefix}v_${i}`]);
    // Format 1: float32 K/V per row + ref_mask; format 2: float16 banks + int32 token indices per row.
    const referenceInputs =
      pkg.format === 1 ? [...kvNames('ref_'), 'ref_mask'] : [...kvNames('ref_'), ...layers.map((_, i) => `ref_index_${i}`)];
    const open = async (
      file: string,
      inputs: string[],
      outputs: string[],
      own: ort.InferenceSession.SessionOptions = options,
    ): Promise<ort.InferenceSession> => {
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(path.join(pkg.dir, file), own).catch(async (error: unknown) => {
          // A graph the preferred provider refuses outright runs on the CPU when the list allows it.
          if (providers[0] === 'cpu' || !providers.includes('cpu')) throw error;
          const fallback = await ort.InferenceSession.create(path.join(pkg.dir, file), { ...own, executionProviders: ['cpu'] });
          onWarning(
            `${file} could not be opened on ${providers[0]} (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); it runs on cpu`,
          );
          graphProviders[file] = 'cpu';
          return fallback;
        });
        graphProviders[file] ??= providers[0] ?? 'cpu';
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new InferenceError(
          'MODEL_CONTRACT_MISMATCH',
          `model package ${pkg.dir}: ${file} cannot be loaded by onnxruntime (${reason})`,
          { files: [file], cause },
        );
      }
      const missingInputs = inputs.filter((name) => !session.inputNames.includes(name));
      const missingOutputs = outputs.filter((name) => !session.outputNames.includes(name));
      if (missingInputs.length > 0 || missingOutputs.length > 0) {
        await session.release();
        throw new InferenceError(
          'MODEL_CONTRACT_MISMATCH',
          `model package ${pkg.dir}: ${file} lacks ${[...missingInputs.map((n) => `input ${n}`), ...missingOutputs.map((n) => `output ${n}`)].join(', ')} (has inputs ${session.inputNames.join(', ')}; outputs ${session.outputNames.join(', ')})`,
          { files: [file] },
        );
      }
      return session;
    };
    const heavy = { ...options, intraOpNumThreads: threads };
    const vaeEncoder = await open('vae_encoder.onnx', ['image'], ['latent']);
    const vaeDecoder = await open('vae_decoder.onnx', ['latent'], ['image']);
    const referenceEncoder = await open('reference_encoder.onnx', ['garment_latent', 'category'], kvNames(''), heavy);
    const denoiser = await open(
      'denoiser.onnx',
      ['sample', 'timestep', 'mask', 'masked_latent', ...referenceInputs],
      ['noise_pred'],
      heavy,
    );
    const parser = pkg.hasParser ? await open(PARSER_GRAPH, ['image'], ['logits']) : null;
    return new ModelSessions(pkg.manifest, pkg.format, vaeEncoder, vaeDecoder, referenceEncoder, denoiser, parser, graphProviders);
  }

  get hasParser(): boolean {
    return this.parser !== null;
  }

  /** images [B,3,H,W] in [-1,1] -> latents [B,C,h,w]. */
  async vaeEncode(images: Float32Array, batch: number): Promise<Float32Array> {
    const { width, height } = this.manifest.person;
    const result = await this.vaeEncoder.run({ image: new ort.Tensor('float32', images, [batch, 3, height, width]) });
    return tensorData(result['latent'], 'vae_encoder latent');
  }

  /** Garment image [1,3,Hr,Wr] at its category's reference size -> garment latent. */
  async vaeEncodeReference(image: Float32Array, reference: ReferenceLayout): Promise<Float32Array> {
    const { width, height } = reference;
    const result = await this.vaeEncoder.run({ image: new ort.Tensor('float32', image, [1, 3, height, width]) });
    return tensorData(result['latent'], 'vae_encoder latent');
  }

  /** latents [B,C,h,w] -> images [B,3,H,W] in [-1,1]. */
  async vaeDecode(latents: Float32Array, batch: number): Promise<Float32Array> {
    const { channels, height, width } = this.manifest.latent;
    const result = await this.vaeDecoder.run({ latent: new ort.Tensor('float32', latents, [batch, channels, height, width]) });
    return tensorData(result['image'], 'vae_decoder image');
  }

  /** Per-layer K/V ([heads,tokens,dim] each) of one garment latent of class `categoryId`, laid out as `reference`. */
  async encodeReference(garmentLatent: Float32Array, categoryId: number, reference: ReferenceLayout): Promise<GraphLayerKV[]> {
    const { channels } = this.manifest.latent;
    const result = await this.referenceEncoder.run({
      garment_latent: new ort.Tensor('float32', garmentLatent, [1, channels, reference.latentHeight, reference.latentWidth]),
      category: new ort.Tensor('int64', BigInt64Array.from([BigInt(categoryId)]), [1]),
    });
    const dtype = this.format === 1 ? 'float32' : 'float16';
    return reference.layers.map((layer, i) => {
      const k = result[`k_${i}`];
      const v = result[`v_${i}`];
      const expected = [1, layer.heads, layer.tokens, layer.dim];
      for (const [name, tensor] of [
        [`k_${i}`, k],
        [`v_${i}`, v],
      ] as const) {
        if (tensor === undefined || tensor.dims.join(',') !== expected.join(',')) {
          throw new InferenceError(
            'MODEL_CONTRACT_MISMATCH',
            `reference_encoder.onnx output ${name} has shape [${tensor?.dims.join(',') ?? 'none'}], the manifest says [${expected.join(',')}]`,
            { files: ['reference_encoder.onnx'] },
          );
        }
        if (tensor.type !== dtype) {
          throw new InferenceError(
            'MODEL_CONTRACT_MISMATCH',
            `reference_encoder.onnx output ${name} is ${tensor.type}; package format ${this.format} needs ${dtype}`,
            { files: ['reference_encoder.onnx'] },
          );
        }
      }
      return this.format === 1 ? { k: tensorData(k, `k_${i}`), v: tensorData(v, `v_${i}`) } : { k: halfData(k!), v: halfData(v!) };
    });
  }

  /** One denoiser call over a prepared batch; returns noise_pred [B,C,h,w]. */
  async denoise(batch: DenoiserBatch): Promise<Float32Array> {
    const { channels, height, width } = this.manifest.latent;
    const rows = batch.rows;
    const feeds: Record<string, ort.Tensor> = {
      sample: new ort.Tensor('float32', batch.sample, [rows, channels, height, width]),
      timestep: new ort.Tensor('float32', batch.timestep, [rows]),
      mask: new ort.Tensor('float32', batch.mask, [rows, 1, height, width]),
      masked_latent: new ort.Tensor('float32', batch.maskedLatent, [rows, channels, height, width]),
    };
    const references = batch.references;
    const layers = this.manifest.kv.layers;
    if (references.kind === 'perRow') {
      if (this.manifest.format !== 1) throw new InferenceError('INTERNAL', 'per-row float32 K/V given to a format-2 denoiser');
      feeds['ref_mask'] = new ort.Tensor('float32', references.mask, [rows, references.slots]);
      this.manifest.kv.layers.forEach((layer, i) => {
        const dims = [rows, layer.heads, references.slots * layer.tokens, layer.dim];
        feeds[`ref_k_${i}`] = new ort.Tensor('float32', references.k[i]!, dims);
        feeds[`ref_v_${i}`] = new ort.Tensor('float32', references.v[i]!, dims);
      });
    } else {
      if (this.format !== 2) throw new InferenceError('INTERNAL', 'a K/V bank given to a format-1 denoiser');
      layers.forEach((layer, i) => {
        const dims = [layer.heads, references.bankTokens[i]!, layer.dim];
        feeds[`ref_k_${i}`] = new ort.Tensor('float16', references.k[i]!, dims);
        feeds[`ref_v_${i}`] = new ort.Tensor('float16', references.v[i]!, dims);
        feeds[`ref_index_${i}`] = new ort.Tensor('int32', references.index[i]!, [rows, references.rowTokens[i]!]);
      });
    }
    const result = await this.denoiser.run(feeds);
    return tensorData(result['noise_pred'], 'denoiser noise_pred');
  }

  /** Person image [1,3,H,W] -> logits [1,numLabels,H,W]. */
  async parse(image: Float32Array): Promise<Float32Array> {
    if (this.parser === null) throw new InferenceError('INTERNAL', 'this model package has no parser.onnx');
    const { width, height } = this.manifest.person;
    const result = await this.parser.run({ image: new ort.Tensor('float32', image, [1, 3, height, width]) });
    return tensorData(result['logits'], 'parser logits');
  }

  async close(): Promise<void> {
    const sessions = [this.vaeEncoder, this.vaeDecoder, this.referenceEncoder, this.denoiser, this.parser];
    for (const session of sessions) if (session) await session.release();
  }
}

/** float16 output as bit patterns (a Uint16Array, or the bits of a Float16Array where the runtime has one). */
function halfData(tensor: ort.Tensor): Uint16Array {
  const data = tensor.data as unknown;
  if (data instanceof Uint16Array) return data;
  if (ArrayBuffer.isView(data) && (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT === 2)
    return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  throw new InferenceError('MODEL_CONTRACT_MISMATCH', `${tensor.type} tensor data is not float16`);
}

function tensorData(tensor: ort.Tensor | undefined, what: string): Float32Array {
  if (tensor === undefined || !(tensor.data instanceof Float32Array))
    throw new InferenceError('MODEL_CONTRACT_MISMATCH', `${what}: missing or not float32`);
  return tensor.data;
}
