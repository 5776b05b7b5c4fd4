/**
 * WorkerEngine: the Engine the rest of the platform holds. It lives on the caller's thread and
 * forwards every call to the inference worker thread, relaying step progress, aborts and
 * errors. Holds the worker referenced only while calls are in flight, so an idle engine never
 * keeps the process alive.
 */
import type { Worker } from 'node:worker_threads';
import { sha256Hex } from './blob-envelope';
import { deserializeError, InferenceError } from './errors';
import { launchInferenceWorker } from './worker-launch';
import type { CallMethod, FromWorker, ToWorker, WorkerCalls, WorkerInit } from './worker-protocol';
import type {
  BareLoopTiming,
  DiagnosticRenderRequest,
  DiagnosticRenderResult,
  EngineDiagnostics,
  GarmentCategory,
  ModelIdentity,
  PersonEncodingBlob,
  ReferenceCacheBlob,
  ReferencePolicy,
  RenderOptions,
  RenderRequest,
  RenderResult,
  StepProgress,
} from './types';

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  onProgress?: (progress: StepProgress) => void;
}

/** Structured cloning turns Buffers into plain Uint8Arrays; give callers Buffers back without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class WorkerEngine {
  readonly diagnostics: EngineDiagnostics;
  private readonly pending = new Map<number, PendingCall>();
  private nextCallId = 1;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly model: ModelIdentity,
    readonly threadNice: number | null,
  ) {
    this.diagnostics = {
      render: (request, policy, options) => this.renderVia(request, policy, options, true) as Promise<DiagnosticRenderResult>,
      timeBareLoop: (shape) => this.call('timeBareLoop', shape) as Promise<BareLoopTiming>,
      referenceKv: (image, category) => this.call('referenceKv', { image, category }),
    };
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) => this.failAll(new InferenceError('ENGINE_CRASHED', `inference worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      if (this.pending.size > 0) this.failAll(new InferenceError(this.closing ? 'ENGINE_CLOSED' : 'ENGINE_CRASHED', `inference worker exited (code ${code})`));
    });
    worker.unref();
  }

  /** Starts the worker and resolves once it has verified and loaded the package. */
  static async start(init: WorkerInit): Promise<WorkerEngine> {
    const worker = launchInferenceWorker(init);
    const ready = await new Promise<{ model: ModelIdentity; nice: number | null }>((resolve, reject) => {
      const onMessage = (message: FromWorker): void => {
        if (message.type === 'ready') resolve(message);
        else if (message.type === 'initFailed') reject(deserializeError(message.error));
        else return;
        cleanup();
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(new InferenceError('ENGINE_CRASHED', `inference worker failed to start: ${error.message}`, { cause: error }));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new InferenceError('ENGINE_CRASHED', `inference worker exited during load (code ${code})`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new WorkerEngine(worker, ready.model, ready.nice);
  }

  async encodeReference(image: Buffer, category: GarmentCategory): Promise<ReferenceCacheBlob> {
    const result = (await this.call('encodeReference', { image, category })) as WorkerCalls['encodeReference']['result'];
    const data = asBuffer(result.data);
    return { data, bytes: data.length, checksum: sha256Hex(data), computeMs: result.computeMs };
  }

  async encodePerson(image: Buffer): Promise<PersonEncodingBlob> {
    const result = (await this.call('encodePerson', { image })) as WorkerCalls['encodePerson']['result'];
    const data = asBuffer(result.data);
    return { data, checksum: sha256Hex(data), computeMs: result.computeMs };
  }

  async render(request: RenderRequest, options?: RenderOptions): Promise<RenderResult> {
    return this.renderVia(request, 'persistent', options, false);
  }

  private async renderVia(request: DiagnosticRenderRequest, policy: ReferencePolicy, options: RenderOptions | undefined, diagnostic: boolean): Promise<RenderResult> {
    const signal = options?.signal;
    if (signal?.aborted) throw new InferenceError('CANCELED', 'render canceled before it started');
    const previewIntervalMs = options?.previewIntervalMs ?? 0;
    if (!Number.isFinite(previewIntervalMs) || previewIntervalMs < 0) throw new InferenceError('INVALID_REQUEST', `previewIntervalMs must be a finite number >= 0, got ${previewIntervalMs}`);
    const previews = options?.previews;
    const wanted = typeof previews === 'function' ? previews : () => previews === true;
    let previewsOn = wanted();
    const args: WorkerCalls['render']['args'] = {
      request,
      policy,
      previews: previewsOn,
      previewIntervalMs,
      wantsProgress: options?.onStep !== undefined || typeof previews === 'function',
      diagnostic,
    };
    const onStep = options?.onStep;
    let id = 0;
    const onProgress = (p: StepProgress): void => {
      // Previews switched on or off by the caller take effect from the next step.
      const now = wanted();
      if (now !== previewsOn) this.post({ type: 'previews', id, on: (previewsOn = now) });
      onStep?.(p.preview ? { ...p, preview: { ...p.preview, png: asBuffer(p.preview.png) } } : p);
    };
    const result = (await this.call('render', args, onProgress, signal, (callId) => (id = callId))) as RenderResult;
    return { ...result, image: asBuffer(result.image) };
  }

  private call<M extends CallMethod>(
    method: M,
    args: WorkerCalls[M]['args'],
    onProgress?: (progress: StepProgress) => void,
    signal?: AbortSignal,
    onId?: (id: number) => void,
  ): Promise<WorkerCalls[M]['result']> {
    if (this.closing) return Promise.reject(new InferenceError('ENGINE_CLOSED', 'the engine is closed'));
    const id = this.nextCallId++;
    onId?.(id);
    return new Promise<WorkerCalls[M]['result']>((resolve, reject) => {
      const onAbort = (): void => this.post({ type: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value as WorkerCalls[M]['result']);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
        onProgress,
      });
      if (this.pending.size === 1) this.worker.ref();
      this.post({ type: 'call', id, method, args } as ToWorker);
    });
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'progress') {
      this.pending.get(message.id)?.onProgress?.(message.progress);
      return;
    }
    if (message.type !== 'result' && message.type !== 'error') return;
    const call = this.pending.get(message.id);
    if (call === undefined) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if (message.type === 'result') call.resolve(message.value);
    else call.reject(deserializeError(message.error));
  }

  private failAll(error: InferenceError): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(error);
  }

  /** Cancels calls in flight (they reject with CANCELED), releases the sessions and ends the worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.worker.threadId === -1) return; // already gone (crashed)
      this.worker.ref();
      for (const id of this.pending.keys()) this.post({ type: 'cancel', id });
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.post({ type: 'close' });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 10_000);
      });
      const outcome = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') await this.worker.terminate();
    })();
    return this.closing;
  }
}
