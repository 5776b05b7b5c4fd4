/**
 * Entry point of the inference worker thread: loads the InferenceRuntime from workerData and
 * serves calls from the engine facade, so decoding, onnxruntime and the sampler never run on
 * the caller's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { deserializeError, serializeError } from './errors';
import { InferenceRuntime, type HotBlobName } from './inference-runtime';
import { lowerCurrentThreadPriority, type ThreadPriority } from './thread-priority';
import type { FromWorker, ToWorker, WorkerCalls, WorkerInit } from './worker-protocol';

/** What the handling of a call shares with the message loop of `serve`. */
interface CallState {
  /** Calls the facade canceled while in flight. */
  canceledCalls: ReadonlySet<number>;
  /** Whether each render in flight makes previews now (turned on and off by 'previews' messages). */
  previewsWanted: Map<number, boolean>;
  send: (message: FromWorker) => void;
  /** Asks the caller for hot blobs on behalf of call `id`. */
  loadBlobs: (id: number, names: HotBlobName[]) => Promise<Uint8Array[]>;
}

/** Runs one call of the facade on the runtime. */
async function handleCall(
  runtime: InferenceRuntime,
  calls: CallState,
  id: number,
  method: ToWorker & { type: 'call' },
): Promise<WorkerCalls[typeof method.method]['result']> {
  const { canceledCalls, previewsWanted, send, loadBlobs } = calls;
  switch (method.method) {
    case 'encodeReference': {
      const args = method.args as WorkerCalls['encodeReference']['args'];
      return runtime.encodeReference(args.image, args.category);
    }
    case 'encodePerson': {
      const args = method.args as WorkerCalls['encodePerson']['args'];
      return runtime.encodePerson(args.image);
    }
    case 'render': {
      const args = method.args as WorkerCalls['render']['args'];
      previewsWanted.set(id, args.previews);
      const result = await runtime
        .render(args.request, args.policy, {
          get previews() {
            return previewsWanted.get(id) === true;
          },
          previewIntervalMs: args.previewIntervalMs,
          isCanceled: () => canceledCalls.has(id),
          loadBlobs: (names) => loadBlobs(id, names),
          onStep: args.wantsProgress ? (progress) => send({ type: 'progress', id, progress }) : undefined,
        })
        .finally(() => previewsWanted.delete(id));
      if (args.diagnostic) return result;
      return { image: result.image, width: result.width, height: result.height, timings: result.timings };
    }
    case 'referenceKv': {
      const args = method.args as WorkerCalls['referenceKv']['args'];
      return runtime.referenceKv(args.image, args.category);
    }
    case 'timeBareLoop':
      return runtime.timeBareLoop(method.args as WorkerCalls['timeBareLoop']['args']);
    case 'forget':
      return runtime.forget((method.args as WorkerCalls['forget']['args']).keys);
    case 'hotCacheStats':
      return runtime.hotCacheStats();
  }
}

async function serve(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker-entry must run in a worker thread');
  const send = (message: FromWorker): void => port.postMessage(message);

  const init = workerData as WorkerInit;
  let runtime: InferenceRuntime;
  let priority: ThreadPriority;
  try {
    // First, so that onnxruntime's own threads inherit the lower priority.
    priority = lowerCurrentThreadPriority(init.nice);
    runtime = await InferenceRuntime.load(init);
  } catch (error) {
    send({ type: 'initFailed', error: serializeError(error) });
    port.close();
    return;
  }
  send({ type: 'ready', model: runtime.model, nice: priority.nice, executionProviders: runtime.executionProviders });

  const canceledCalls = new Set<number>();
  /** Whether each render in flight makes previews now (turned on and off by 'previews' messages). */
  const previewsWanted = new Map<number, boolean>();
  const inFlight = new Map<number, Promise<unknown>>();
  // Hot blobs a render asked the caller for, by load id.
  const loads = new Map<number, { resolve: (blobs: Uint8Array[]) => void; reject: (error: unknown) => void }>();
  let nextLoadId = 1;
  const loadBlobs = (id: number, names: HotBlobName[]): Promise<Uint8Array[]> =>
    new Promise((resolve, reject) => {
      const loadId = nextLoadId++;
      loads.set(loadId, { resolve, reject });
      send({ type: 'load', id, loadId, names });
    });
  const calls: CallState = { canceledCalls, previewsWanted, send, loadBlobs };

  port.on('message', (message: ToWorker) => {
    if (message.type === 'loaded') {
      const load = loads.get(message.loadId);
      loads.delete(message.loadId);
      if (message.blobs !== undefined) load?.resolve(message.blobs);
      else load?.reject(message.error === undefined ? new Error('no blobs') : deserializeError(message.error));
    } else if (message.type === 'cancel') {
      if (inFlight.has(message.id)) canceledCalls.add(message.id); // a late cancel of a finished call is moot
    } else if (message.type === 'previews') {
      if (previewsWanted.has(message.id)) previewsWanted.set(message.id, message.on);
    } else if (message.type === 'call') {
      const task = handleCall(runtime, calls, message.id, message).then(
        (value) => send({ type: 'result', id: message.id, value }),
        (error: unknown) => send({ type: 'error', id: message.id, error: serializeError(error) }),
      );
      inFlight.set(message.id, task);
      void task.finally(() => {
        inFlight.delete(message.id);
        canceledCalls.delete(message.id);
      });
    } else {
      // Close (the facade has already canceled its pending calls): let them unwind, release the sessions, end the thread.
      void (async () => {
        await Promise.allSettled([...inFlight.values()]);
        await runtime.close();
        send({ type: 'closed' });
        port.close();
      })();
    }
  });
}

void serve();
