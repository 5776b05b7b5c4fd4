/**
 * Starts the inference worker thread from wherever this code runs:
 *  - compiled (dist/…/worker-launch.js): the sibling worker-entry.js, plain Node;
 *  - TypeScript source (jest via @swc/jest, or tsx): a Worker cannot load .ts, and jest's
 *    in-process transform does not reach worker threads, so the worker first registers tsx's
 *    CommonJS hook and then requires worker-entry.ts.
 * The choice follows this file's own extension, so it cannot pick a stale build by accident.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InferenceError } from './errors';
import type { WorkerInit } from './worker-protocol';

export function launchInferenceWorker(init: WorkerInit): Worker {
  const extension = path.extname(__filename);
  const workerOptions = { workerData: init, stdout: false, stderr: false };
  if (extension === '.js') return new Worker(path.join(__dirname, 'worker-entry.js'), workerOptions);

  let tsxHook: string;
  try {
    tsxHook = require.resolve('tsx/cjs/api');
  } catch (cause) {
    throw new InferenceError(
      'INTERNAL',
      'running the engine from TypeScript sources needs the tsx package (a dev dependency); run the compiled dist/ build instead',
      { cause },
    );
  }
  const entry = path.join(__dirname, 'worker-entry.ts');
  const bootstrap = `require(${JSON.stringify(tsxHook)}).register();\nrequire(${JSON.stringify(entry)});`;
  return new Worker(bootstrap, { ...workerOptions, eval: true });
}
