/**
 * Messages between the engine facade (caller's thread) and the inference worker thread.
 * Everything here survives structured cloning: plain objects, Uint8Arrays, typed arrays.
 */
import type { SerializedInferenceError } from './errors';
import type { ExecutionProviderReport } from './execution-providers';
import type { HotCacheStats } from './hot-cache';
import type {
  BareLoopTiming,
  DiagnosticRenderResult,
  GarmentCategory,
  ModelIdentity,
  ReferencePolicy,
  RenderResult,
  StepProgress,
} from './types';
import type { HotBlobName, RuntimeOptions, RuntimeRenderRequest } from './inference-runtime';

export type WorkerInit = RuntimeOptions;

export interface WorkerCalls {
  encodeReference: { args: { image: Uint8Array; category: GarmentCategory }; result: { data: Uint8Array; computeMs: number } };
  encodePerson: { args: { image: Uint8Array }; result: { data: Uint8Array; computeMs: number } };
  render: {
    args: {
      request: RuntimeRenderRequest;
      policy: ReferencePolicy;
      previews: boolean;
      previewIntervalMs: number;
      wantsProgress: boolean;
      diagnostic: boolean;
    };
    result: DiagnosticRenderResult | RenderResult;
  };
  timeBareLoop: { args: { slots: number; steps: number; renders?: number }; result: BareLoopTiming };
  referenceKv: { args: { image: Uint8Array; category: GarmentCategory }; result: { k: Float32Array; v: Float32Array }[] };
  forget: { args: { keys: string[] }; result: number };
  hotCacheStats: { args: Record<string, never>; result: HotCacheStats };
}

export type CallMethod = keyof WorkerCalls;

export type ToWorker =
  | { type: 'call'; id: number; method: CallMethod; args: WorkerCalls[CallMethod]['args'] }
  | { type: 'cancel'; id: number }
  /** Turns a render's previews on or off while it runs (RenderOptions.previews as a function). */
  | { type: 'previews'; id: number; on: boolean }
  /** The answer to a 'load': the blobs in the order asked, or why they could not be read. */
  | { type: 'loaded'; loadId: number; blobs?: Uint8Array[]; error?: SerializedInferenceError }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; model: ModelIdentity; nice: number | null; executionProviders: ExecutionProviderReport }
  /** A render (call `id`) needs hot blobs the engine does not hold: the caller reads them with their loaders. */
  | { type: 'load'; id: number; loadId: number; names: HotBlobName[] }
  | { type: 'initFailed'; error: SerializedInferenceError }
  | { type: 'result'; id: number; value: WorkerCalls[CallMethod]['result'] }
  | { type: 'error'; id: number; error: SerializedInferenceError }
  | { type: 'progress'; id: number; progress: StepProgress }
  | { type: 'closed' };
