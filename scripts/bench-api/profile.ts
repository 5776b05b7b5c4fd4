// bench:api --profile: a CPU profile of the server's (main) thread during a phase, printed as
// self time grouped by where the code lives (package, or folder of this project), then by function.
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { log } from '../bench-support';
import { PROFILE } from './settings';

/** Where a function's code lives: its npm package, this project's top folder, or the engine's own kinds. */
function groupOf(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const src = /\/(src|test|scripts)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${src[2]!.split('/')[0]}`;
  return url.startsWith('node:') ? 'node internals' : url || '(native/other)';
}

/** Self time (µs) per group and per function. */
function selfTimes(profile: Profiler.Profile): { total: number; byGroup: Map<string, number>; byFn: Map<string, number> } {
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  (profile.samples ?? []).forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byGroup = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (!us) continue;
    const g = groupOf(node.callFrame.url, node.callFrame.functionName);
    byGroup.set(g, (byGroup.get(g) ?? 0) + us);
    const f = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/main\//, '')}:${node.callFrame.lineNumber + 1}`;
    byFn.set(f, (byFn.get(f) ?? 0) + us);
  }
  return { total, byGroup, byFn };
}

function printProfile(label: string, profile: Profiler.Profile): void {
  const { total, byGroup, byFn } = selfTimes(profile);
  const top = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${(v / 1000).toFixed(0)} ms (${((100 * v) / total).toFixed(1)}%) ${k}`);
  log(`profile of the server thread, ${label}: ${(total / 1000).toFixed(0)} ms sampled; self time by package:`);
  for (const line of top(byGroup, 14)) console.log(`    ${line}`);
  log(`  top functions by self time:`);
  for (const line of top(byFn, 20)) console.log(`    ${line}`);
}

/** Runs `run`; with --profile, under the CPU profiler, whose summary is printed after it. */
export async function profiled<T>(label: string, run: () => Promise<T>): Promise<T> {
  if (!PROFILE) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    printProfile(label, profile);
  }
}
