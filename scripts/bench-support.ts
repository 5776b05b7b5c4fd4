// What every benchmark script does around its measurements: run main() under a global
// timeout, and whatever happens print the summary as the LAST line (one JSON object), with the
// elapsed time; a failure or the timeout exits non-zero with what was measured so far. A
// bench's server is configured with localConfig (test/support/server.ts), as the tests' are.
import { cpus, loadavg } from 'node:os';

const args = process.argv.slice(2);

/** `--name <number>` from the command line, else `fallback`. */
export function numberFlag(name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

/** `--name <text>` from the command line, else `fallback`. */
export function textOption(name: string, fallback: string): string {
  const at = args.indexOf(name);
  return at >= 0 ? String(args[at + 1]) : fallback;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The machine a bench ran on, for its summary. */
export function machineSummary(): { machine: string; loadAvgStart: number } {
  return { machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'})`, loadAvgStart: Math.round(loadavg()[0]! * 100) / 100 };
}

export function runBench(main: () => Promise<void>, summary: Record<string, unknown>, timeoutMs: number): void {
  const started = Date.now();
  const elapsedS = () => Math.round((Date.now() - started) / 100) / 10;
  const guard = setTimeout(() => {
    summary.error = `global timeout of ${timeoutMs / 1000} s; partial results`;
    summary.elapsedS = elapsedS();
    console.log(JSON.stringify(summary));
    process.exit(2);
  }, timeoutMs);
  guard.unref();
  let exitCode = 0;
  main()
    .catch((error: unknown) => {
      exitCode = 1;
      summary.error = String((error as Error)?.stack ?? error);
      console.error(error);
    })
    .finally(() => {
      summary.elapsedS = elapsedS();
      console.log(JSON.stringify(summary));
      process.exit(exitCode);
    });
}

/** `value` rounded to `digits` decimals (NaN and infinities as they are). */
export const round = (value: number, digits = 1): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A human-readable line, stamped with the time of day (UTC). */
export function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** The p-th percentile of `sorted` (ascending), nearest rank; NaN when it is empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Probes every 200 ms until `done` holds, or throws after `timeoutMs`. */
export async function waitUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done in ${timeoutMs} ms`);
    await sleep(200);
  }
}
