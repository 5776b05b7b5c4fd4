// The job queue on Redis with BullMQ (scaled out). A worker that dies mid-job loses its
// lock; BullMQ's stalled-job check hands the job to another worker. Fairness between tenants
// (job-queue.ts) uses BullMQ's priorities: a prioritized job waits in a sorted set by
// (priority, arrival). A job over its consumer's maxPerGroup goes back to wait a moment
// (moved to delayed, keeping its priority; not an attempt).
import { DelayedError, Queue, Worker, type ConnectionOptions } from 'bullmq';
import { settlesWithin } from '../common/deadline';
import type { JobHandler, JobName, JobOptions, JobPayloads, JobQueue, ProcessOptions } from './job-queue';

export interface BullMqOptions {
  /** Prefix of every key, so several deployments can share one Redis. Default 'atelier'. */
  prefix?: string;
  /** How long a running job's lock lasts without renewal (ms). Default 30000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for (ms). Default 15000. */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before it fails. Default 2 (3 runs in all). */
  maxStalledCount?: number;
  /** How long close() waits for running jobs and Redis before it drops the connections (ms). Default 10000. */
  closeTimeoutMs?: number;
  /** How long a job over its consumer's maxPerGroup waits before it is tried again (ms). Default 500. */
  groupRetryMs?: number;
}

const GROUP_FIELD = '__group';

function connection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}

export class BullMqJobQueue implements JobQueue {
  private readonly queues = new Map<JobName, Queue>();
  private readonly workers: Worker[] = [];
  private readonly connection: ConnectionOptions;

  constructor(
    redisUrl: string,
    private readonly options: BullMqOptions = {},
  ) {
    this.connection = connection(redisUrl);
  }

  private queue(name: JobName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.options.prefix ?? 'atelier' });
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: JobOptions = {}): Promise<void> {
    // The group travels in the data (BullMQ has no field for it); handlers never see it.
    const data = options.group === undefined ? payload : { ...payload, [GROUP_FIELD]: options.group };
    await this.queue(name).add(name, data, {
      jobId: options.jobId,
      attempts: options.attempts ?? 1,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
      delay: options.delayMs,
      priority: options.priority,
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  process<N extends JobName>(name: N, handler: JobHandler<N>, options: ProcessOptions = {}): void {
    const maxPerGroup = options.maxPerGroup ?? Infinity;
    const runningByGroup = new Map<string, number>();
    const worker = new Worker(
      name,
      async (job, token) => {
        const group = (job.data as { [GROUP_FIELD]?: string })[GROUP_FIELD];
        if (group !== undefined && (runningByGroup.get(group) ?? 0) >= maxPerGroup) {
          await job.moveToDelayed(Date.now() + (this.options.groupRetryMs ?? 500), token);
          throw new DelayedError();
        }
        if (group !== undefined) runningByGroup.set(group, (runningByGroup.get(group) ?? 0) + 1);
        try {
          const { [GROUP_FIELD]: _group, ...payload } = job.data as Record<string, unknown>;
          await handler(payload as JobPayloads[N], {
            id: job.id ?? '',
            attempt: job.attemptsMade + 1,
            maxAttempts: job.opts.attempts ?? 1,
          });
        } finally {
          if (group !== undefined) {
            const left = runningByGroup.get(group)! - 1;
            if (left > 0) runningByGroup.set(group, left);
            else runningByGroup.delete(group);
          }
        }
      },
      {
        connection: this.connection,
        prefix: this.options.prefix ?? 'atelier',
        concurrency: options.concurrency ?? 1,
        lockDuration: this.options.lockDurationMs ?? 30_000,
        stalledInterval: this.options.stalledIntervalMs ?? 15_000,
        maxStalledCount: this.options.maxStalledCount ?? 2,
      },
    );
    worker.on('error', () => undefined);
    this.workers.push(worker);
  }

  /**
   * Lets running jobs finish, then closes the connections. When that takes longer than
   * closeTimeoutMs (Redis is down, so a job cannot report its end), the connections are dropped:
   * the jobs' locks then expire and another worker takes them over, as after a crash.
   */
  async close(): Promise<void> {
    const graceful = (async () => {
      await Promise.allSettled(this.workers.map((w) => w.close()));
      await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    })();
    if (await settlesWithin(graceful, this.options.closeTimeoutMs ?? 10_000)) return;
    await settlesWithin(Promise.allSettled([...this.workers, ...this.queues.values()].map((c) => c.disconnect())), 1_000);
  }
}
