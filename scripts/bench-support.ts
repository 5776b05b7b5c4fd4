// What every benchmark script does around its measurements: run main() under a global
// timeout, and whatever happens print the summary as the LAST line (one JSON object), with the
// elapsed time; a failure or the timeout exits non-zero with what was measured so far. A
// bench's server is configured with localConfig (test/support/server.ts), as the tests' are.
import { cpus, loadavg } from 'node:os';

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
