// Periodic maintenance run by workers: each domain gives its sweeps (re-enqueue work whose job
// was lost, delete what is past its time); the sweeper runs them in turn on an interval. All
// are idempotent (jobs are deduplicated by id), so several workers may run them at once.
import type { Logger } from '../observability/logger';

export interface Sweep {
  /** One periodic run, as of `now`. */
  run(now: Date): Promise<unknown>;
  /**
   * At start-up of a process whose queue was in memory (the embedded server): re-enqueue all
   * the work still waiting, as of `now` (a little ahead of the clock). Cleanups have none.
   */
  resume?(now: Date): Promise<unknown>;
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly sweeps: readonly Sweep[],
    private readonly logger: Logger,
    /** How often the sweeps run (ms). */
    private readonly intervalMs = 15_000,
  ) {}

  /** Re-enqueues every piece of work still waiting now (the queue started empty). */
  async resumeAll(): Promise<void> {
    const future = new Date(Date.now() + 60_000);
    for (const sweep of this.sweeps) await sweep.resume?.(future);
  }

  async runOnce(now = new Date()): Promise<void> {
    for (const sweep of this.sweeps) await sweep.run(now);
  }

  start(): void {
    const tick = () => {
      this.running = this.runOnce()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'sweep failed'))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
