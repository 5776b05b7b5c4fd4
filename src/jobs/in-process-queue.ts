// The in-process job queue (embedded default, tests): jobs live in memory; the database
// stays the source of truth, so a restart re-enqueues unfinished work (render sweep). Jobs
// run in order of priority, then of enqueueing, like BullMQ's (see job-queue.ts).
import type { JobContext, JobHandler, JobName, JobOptions, JobPayloads, JobQueue, ProcessOptions } from './job-queue';

interface PendingJob {
  name: JobName;
  id: string;
  payload: unknown;
  attempt: number;
  maxAttempts: number;
  backoffMs: number;
  /** 0: unprioritized, first. */
  priority: number;
  group: string | undefined;
  /** Order of arrival in the waiting list, among equal priorities. */
  seq: number;
}

interface Consumer {
  handler: (payload: unknown, context: JobContext) => Promise<void>;
  concurrency: number;
  maxPerGroup: number;
  running: number;
  runningByGroup: Map<string, number>;
}

export class InProcessJobQueue implements JobQueue {
  /** Sorted by (priority, seq). */
  private readonly waiting: PendingJob[] = [];
  private readonly known = new Set<string>();
  private readonly consumers = new Map<JobName, Consumer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private nextId = 0;
  private nextSeq = 0;
  private closed = false;

  /** `onFinalFailure` hears errors a handler threw on its last attempt (the owner logs them). */
  constructor(private readonly onFinalFailure: (name: JobName, id: string, error: unknown) => void = () => undefined) {}

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: JobOptions = {}): Promise<void> {
    if (this.closed) throw new Error('the job queue is closed');
    const id = options.jobId ?? `job-${(this.nextId += 1)}`;
    const key = `${name}:${id}`;
    if (this.known.has(key)) return;
    this.known.add(key);
    const job: PendingJob = {
      name,
      id,
      payload,
      attempt: 1,
      maxAttempts: options.attempts ?? 1,
      backoffMs: options.backoffMs ?? 1000,
      priority: options.priority ?? 0,
      group: options.group,
      seq: 0,
    };
    this.schedule(job, options.delayMs ?? 0);
  }

  process<N extends JobName>(name: N, handler: JobHandler<N>, options: ProcessOptions = {}): void {
    this.consumers.set(name, {
      handler: handler as (payload: unknown, context: JobContext) => Promise<void>,
      concurrency: options.concurrency ?? 1,
      maxPerGroup: options.maxPerGroup ?? Infinity,
      running: 0,
      runningByGroup: new Map(),
    });
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.waiting.length = 0;
    await Promise.allSettled([...this.running]);
  }

  private schedule(job: PendingJob, delayMs: number): void {
    if (delayMs <= 0) {
      this.insert(job);
      this.pump();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.insert(job);
      this.pump();
    }, delayMs);
    this.timers.add(timer);
  }

  /** Into the waiting list after every job of a lower or equal priority. */
  private insert(job: PendingJob): void {
    job.seq = this.nextSeq += 1;
    let at = this.waiting.length;
    while (at > 0 && this.waiting[at - 1]!.priority > job.priority) at -= 1;
    this.waiting.splice(at, 0, job);
  }

  private groupFull(consumer: Consumer, group: string | undefined): boolean {
    return group !== undefined && (consumer.runningByGroup.get(group) ?? 0) >= consumer.maxPerGroup;
  }

  private pump(): void {
    if (this.closed) return;
    for (let i = 0; i < this.waiting.length;) {
      const job = this.waiting[i]!;
      const consumer = this.consumers.get(job.name);
      if (!consumer || consumer.running >= consumer.concurrency || this.groupFull(consumer, job.group)) {
        i += 1;
        continue;
      }
      this.waiting.splice(i, 1);
      consumer.running += 1;
      if (job.group !== undefined) consumer.runningByGroup.set(job.group, (consumer.runningByGroup.get(job.group) ?? 0) + 1);
      const run = this.run(job, consumer).finally(() => {
        consumer.running -= 1;
        if (job.group !== undefined) {
          const left = consumer.runningByGroup.get(job.group)! - 1;
          if (left > 0) consumer.runningByGroup.set(job.group, left);
          else consumer.runningByGroup.delete(job.group);
        }
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(job: PendingJob, consumer: Consumer): Promise<void> {
    try {
      await consumer.handler(job.payload, { id: job.id, attempt: job.attempt, maxAttempts: job.maxAttempts });
      this.known.delete(`${job.name}:${job.id}`);
    } catch (error) {
      if (job.attempt < job.maxAttempts && !this.closed) {
        this.schedule({ ...job, attempt: job.attempt + 1 }, job.backoffMs * 2 ** (job.attempt - 1));
      } else {
        this.known.delete(`${job.name}:${job.id}`);
        this.onFinalFailure(job.name, job.id, error);
      }
    }
  }
}
