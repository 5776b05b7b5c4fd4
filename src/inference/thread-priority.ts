/**
 * CPU priority of the inference worker thread. Inference is batch work: on a machine it
 * shares with the API, the API's event loop should get the CPU first, and renders the rest.
 * Linux keeps a nice value per thread (setpriority on a thread id), so the worker thread can
 * lower its own priority without touching the process's other threads; onnxruntime's pool
 * threads, created afterwards by this thread, inherit it. Elsewhere nothing is changed.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import path from 'node:path';

export interface ThreadPriority {
  /**
   * The calling thread's nice value as the OS reports it after the change; null where a thread's own priority cannot be set (not Linux).
   */
  nice: number | null;
}

/** The calling thread's kernel id (Linux), or null. */
function currentThreadId(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const tid = Number(path.basename(readlinkSync('/proc/thread-self')));
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/**
 * Lowers the calling thread's priority to `nice` (0..19; never raises it: raising needs
 * privileges). Returns what the OS reports afterwards.
 */
export function lowerCurrentThreadPriority(nice: number): ThreadPriority {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`nice must be an integer in 0..19, got ${nice}`);
  const tid = currentThreadId();
  if (tid === null) return { nice: null };
  if (nice > getPriority(tid)) setPriority(tid, nice);
  return { nice: getPriority(tid) };
}
