// What every benchmark script does around its measurements: configure its in-process server,
// run main() under a global timeout, and whatever happens print the summary as the LAST line
// (one JSON object), with the elapsed time; a failure or the timeout exits non-zero with what
// was measured so far.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { loadConfig, type Config } from '../src/main/config';
import { OPERATOR } from '../test/support/graphql-client';

/** The configuration of a bench's server: its own data directory and secrets, silent logs, then the bench's own settings. */
export function benchConfig(dataDir: string, env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ATELIER_DATA_DIR: dataDir,
    ATELIER_ADMIN_TOKEN: OPERATOR,
    ATELIER_SECRETS: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'silent',
    ...env,
  });
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
