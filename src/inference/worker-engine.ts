/**
 * WorkerEngine: the Engine the rest of the platform holds. It lives on the caller's thread and
 * forwards every call to the inference worker thread, relaying step progress, aborts and
 * errors. Holds the worker referenced only while calls are in flight, so an idle engine never
 * keeps the process alive.
 */
import type { Worker } from 'node:worker_threads';
import { sha256Hex } from './blob-envelope';
import { deserializeError, InferenceError, serializeError } from './errors';
import type { ExecutionProviderReport } from './execution-providers';
import type { HotCacheStats } from './hot-cache';
import type { HotBlobName, RuntimeRenderRequest } from './inference-runtime';
import { launchInferenceWorker } from './worker-launch';
import type { CallMethod, FromWorker, ToWorker, WorkerCalls, WorkerInit } from './worker-protocol';
import type {
  BareLoopTiming,
  DiagnosticRenderRequest,
  DiagnosticRenderResult,
  EngineDiagnostics,
  GarmentCategory,
  HotBlob,
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
  /** A render's hot-blob loaders by name (they cannot cross into the worker). */
  loaders?: Map<HotBlobName, HotBlob['load']>;
  /** The caller's own error from a loader: the render rejects with it unchanged. */
  loadError?: unknown;
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
    readonly executionProviders: ExecutionProviderReport,
  ) {
    this.diagnostics = {
      render: (request, policy, options) => this.renderVia(request, policy, options, true) as Promise<DiagnosticRenderResult>,
      timeBareLoop: (shape) => this.call('timeBareLoop', shape) as Promise<BareLoopTiming>,
      referenceKv: (image, category) => this.call('referenceKv', { image, category }),
    };
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) =>
      this.failAll(new InferenceError('ENGINE_CRASHED', `inference worker failed: ${error.message}`, { cause: error })),
    );
    worker.on('exit', (code) => {
      if (this.pending.size > 0)
        this.failAll(new InferenceError(this.closing ? 'ENGINE_CLOSED' : 'ENGINE_CRASHED', `inference worker exited (code ${code})`));
    });
    worker.unref();
  }

  /** Starts the worker and resolves once it has verified and loaded the package. */
  static async start(init: WorkerInit): Promise<WorkerEngine> {
    const worker = launchInferenceWorker(init);
    const ready = await new Promise<{ model: ModelIdentity; nice: number | null; executionProviders: ExecutionProviderReport }>(
      (resolve, reject) => {
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
      },
    ).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new WorkerEngine(worker, ready.model, ready.nice, ready.executionProviders);
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

  private async renderVia(
    request: DiagnosticRenderRequest,
    policy: ReferencePolicy,
    options: RenderOptions | undefined,
    diagnostic: boolean,
  ): Promise<RenderResult> {
    const signal = options?.signal;
    if (signal?.aborted) throw new InferenceError('CANCELED', 'render canceled before it started');
    const previewIntervalMs = options?.previewIntervalMs ?? 0;
    if (!Number.isFinite(previewIntervalMs) || previewIntervalMs < 0)
      throw new InferenceError('INVALID_REQUEST', `previewIntervalMs must be a finite number >= 0, got ${previewIntervalMs}`);
    const previews = options?.previews;
    const wanted = typeof previews === 'function' ? previews : () => previews === true;
    let previewsOn = wanted();
    const { request: wireRequest, loaders } = splitHotBlobs(request);
    const args: WorkerCalls['render']['args'] = {
      request: wireRequest,
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
    const result = (await this.call('render', args, onProgress, signal, loaders, (callId) => (id = callId))) as RenderResult;
    return { ...result, image: asBuffer(result.image) };
  }

  forget(keys: readonly string[]): Promise<number> {
    return this.call('forget', { keys: [...keys] });
  }

  hotCacheStats(): Promise<HotCacheStats> {
    return this.call('hotCacheStats', {});
  }

  private call<M extends CallMethod>(
    method: M,
    args: WorkerCalls[M]['args'],
    onProgress?: (progress: StepProgress) => void,
    signal?: AbortSignal,
    loaders?: Map<HotBlobName, HotBlob['load']>,
    onId?: (id: number) => void,
  ): Promise<WorkerCalls[M]['result']> {
    if (this.closing) return Promise.reject(new InferenceError('ENGINE_CLOSED', 'the engine is closed'));
    const id = this.nextCallId++;
    onId?.(id);
    return new Promise<WorkerCalls[M]['result']>((resolve, reject) => {
      const onAbort = (): void => this.post({ type: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      const call: PendingCall = {
        loaders,
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value as WorkerCalls[M]['result']);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(call.loadError ?? error);
        },
        onProgress,
      };
      this.pending.set(id, call);
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
    if (message.type === 'load') {
      void this.load(message.id, message.loadId, message.names);
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

  /** Reads the hot blobs a render asked for with the caller's loaders and hands them to the worker. */
  private async load(id: number, loadId: number, names: HotBlobName[]): Promise<void> {
    const call = this.pending.get(id);
    try {
      const blobs = await Promise.all(
        names.map(async (name) => {
          const loader = call?.loaders?.get(name);
          if (loader === undefined)
            throw new InferenceError('INTERNAL', `the engine asked for blob ${name}, which the render did not name`);
          const bytes = await loader();
          if (!(bytes instanceof Uint8Array)) throw new InferenceError('INVALID_CACHE', `the loader of ${name} returned no bytes`);
          // Posting a view clones its whole buffer, and the engine holds views of what it decodes:
          // a blob that shares its buffer (a Buffer pool slice, a larger read) crosses as a copy of its own.
          return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
        }),
      );
      this.post({ type: 'loaded', loadId, blobs });
    } catch (error) {
      if (call) call.loadError = error;
      this.post({ type: 'loaded', loadId, error: serializeError(error) });
    }
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

/** Separates a request's hot-blob loaders (functions stay on this thread) from what crosses into the worker. */
function splitHotBlobs(request: DiagnosticRenderRequest): { request: RuntimeRenderRequest; loaders: Map<HotBlobName, HotBlob['load']> } {
  const loaders = new Map<HotBlobName, HotBlob['load']>();
  const reference = (name: HotBlobName, hot: HotBlob | undefined): { key: string; version: string } | undefined => {
    if (hot === undefined) return undefined;
    if (typeof hot.load !== 'function') throw new InferenceError('INVALID_REQUEST', `hot blob ${name} needs a load function`);
    loaders.set(name, hot.load);
    return { key: hot.key, version: hot.version };
  };
  const { personHot, ...rest } = request;
  const wire: RuntimeRenderRequest = {
    ...rest,
    // Not an array: the worker refuses it (INVALID_REQUEST).
    garments: Array.isArray(request.garments)
      ? request.garments.map(({ hot, ...garment }, i) => {
          const ref = reference(`garment:${i}`, hot);
          return ref === undefined ? garment : { ...garment, hot: ref };
        })
      : request.garments,
  };
  const personRef = reference('person', personHot);
  if (personRef !== undefined) wire.personHot = personRef;
  return { request: wire, loaders };
}
