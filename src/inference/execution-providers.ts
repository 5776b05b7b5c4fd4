/**
 * Execution providers: the onnxruntime backends the engine's graphs run on
 * (ATELIER_EXECUTION_PROVIDERS). onnxruntime-node does not fall back by itself: a session asked
 * for CUDA on an installation without the CUDA provider libraries fails to open, and WebGPU
 * without an adapter likewise. So every requested provider other than the CPU is tried once at
 * start-up on the package's smallest graph. One that does not work is an
 * EXECUTION_PROVIDER_UNAVAILABLE error naming it, unless `cpu` follows it in the list: then it
 * is skipped with a warning and the graphs run on what remains.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { InferenceError } from './errors';

export const DEFAULT_EXECUTION_PROVIDERS: readonly string[] = ['cpu'];

/** What the engine runs on, for the start-up log. */
export interface ExecutionProviderReport {
  /** As configured, in order of preference. */
  requested: string[];
  /** What every session was given (the requested list without the providers that were skipped). */
  used: string[];
  /** Per graph file: the provider it runs on first (nodes that provider cannot run fall to the next in `used`). */
  graphs: Record<string, string>;
  /** One line per requested provider that was skipped (the fallback to `cpu`). */
  warnings: string[];
}

/** A requested provider that cannot run here, and why (onnxruntime's own words). */
async function unavailability(provider: string, probeGraph: string): Promise<string | null> {
  if (provider === 'cpu') return null;
  const backends = ort.listSupportedBackends();
  const backend = backends.find((b) => b.name === provider);
  if (backend === undefined)
    return `this build of onnxruntime-node has no ${provider} provider (it has ${backends.map((b) => b.name).join(', ')})`;
  if (!backend.bundled) {
    // Checked before onnxruntime tries: its own attempt logs a multi-line error of its own.
    const library = providerLibrary(provider);
    if (library !== null && !existsSync(library)) {
      return `its library ${path.basename(library)} is not installed in ${path.dirname(library)} (onnxruntime-node does not bundle it: see the README, "GPU execution providers")`;
    }
  }
  try {
    const session = await ort.InferenceSession.create(probeGraph, { executionProviders: [provider], logSeverityLevel: 4 });
    await session.release();
    return null;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
    const hint = backend.bundled ? '' : ` (its binaries are not bundled with onnxruntime-node: see the README, "GPU execution providers")`;
    return `${reason}${hint}`;
  }
}

/**
 * Tries each requested provider in order and returns the list the sessions are to be given.
 * Throws EXECUTION_PROVIDER_UNAVAILABLE for a provider that does not work here unless `cpu`
 * comes after it.
 */
export async function resolveExecutionProviders(
  requested: readonly string[],
  probeGraph: string,
): Promise<{ used: string[]; warnings: string[] }> {
  if (requested.length === 0) throw new InferenceError('INVALID_REQUEST', 'executionProviders must name at least one provider (e.g. cpu)');
  const duplicate = requested.find((p, i) => requested.indexOf(p) !== i);
  if (duplicate !== undefined) throw new InferenceError('INVALID_REQUEST', `executionProviders names ${duplicate} twice`);
  const used: string[] = [];
  const skipped: string[] = [];
  for (const [index, provider] of requested.entries()) {
    const reason = await unavailability(provider, probeGraph);
    if (reason === null) {
      used.push(provider);
      continue;
    }
    if (!requested.slice(index + 1).includes('cpu')) {
      throw new InferenceError(
        'EXECUTION_PROVIDER_UNAVAILABLE',
        `execution provider ${provider} is not available in this installation of onnxruntime-node: ${reason}. Install or enable it (README, "GPU execution providers"), or put cpu after it (e.g. ${provider},cpu) to fall back to the CPU`,
      );
    }
    skipped.push(`execution provider ${provider} is not available (${reason})`);
  }
  return { used, warnings: skipped.map((line) => `${line}; the graphs run on ${used.join(', ')}`) };
}

/** Where onnxruntime-node loads a non-bundled provider's shared library from (null: platform not known here). */
function providerLibrary(provider: string): string | null {
  const binaries = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  if (process.platform === 'linux') return path.join(binaries, `libonnxruntime_providers_${provider}.so`);
  if (process.platform === 'win32') return path.join(binaries, `onnxruntime_providers_${provider}.dll`);
  return null;
}
