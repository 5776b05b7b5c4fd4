// The job queue interface: an in-process driver (embedded default, single process) and a
// BullMQ driver on Redis (scaled out), chosen in the composition root. Every payload
// carries its tenant. Handlers throw to have the job retried (attempts, backoff).
//
// Fairness between tenants, alike on both drivers: a job's `priority` is its place in its
// tenant's backlog when it was enqueued (1 when the tenant had nothing waiting), and jobs run
// in order of priority, then of enqueueing. So tenants take turns: a tenant with one job
// waiting goes ahead of the second, third, ... job of a tenant with many, however long that
// backlog is. (BullMQ's open-source version has no groups; its priorities serve here.) A
// consumer may also cap how many jobs of one `group` (tenant) it runs at once, so one tenant's
// slow jobs cannot hold every slot.
export interface JobPayloads {
  /** Compute a garment's reference cache for a model. */
  'reference-cache': { tenantId: string; garmentId: string; model: string };
  /** Encode a person photo (latent, labels) for a model. */
  'person-encoding': { tenantId: string; photoId: string; model: string };
  /** Run a render. */
  render: { tenantId: string; renderId: string };
  /** Deliver one webhook event to one endpoint. */
  'webhook-delivery': { tenantId: string; deliveryId: string };
}

export type JobName = keyof JobPayloads;

export interface JobOptions {
  /** Deduplication key: a job with the same id that is still waiting or running is not added again. No ':' (BullMQ). */
  jobId?: string;
  /** Total tries (first run included). Default 1. */
  attempts?: number;
  /** Delay before try n+1 is backoffMs * 2^(n-1). Default 1000. */
  backoffMs?: number;
  /** Delay before the first try. Default 0. */
  delayMs?: number;
  /** Lower runs first (1 .. 2097151): the job's place in its tenant's backlog. Unset: before every prioritized job. */
  priority?: number;
  /** What a consumer's maxPerGroup counts (the tenant). */
  group?: string;
}

/** Highest priority BullMQ accepts; larger places are clamped to it. */
export const MAX_PRIORITY = 2_097_151;

/** A tenant's n-th job in line (1-based) as a priority. */
export function backlogPriority(place: number): number {
  return Math.min(Math.max(1, Math.floor(place)), MAX_PRIORITY);
}

export interface ProcessOptions {
  /** Jobs run at once in this process; default 1. */
  concurrency?: number;
  /**
   * Jobs of one group (JobOptions.group) run at once in this process; default: no cap. A job over it waits (and does not count as an
   * attempt).
   */
  maxPerGroup?: number;
}

export interface JobContext {
  id: string;
  /** 1 for the first try. */
  attempt: number;
  maxAttempts: number;
}

export type JobHandler<N extends JobName> = (payload: JobPayloads[N], context: JobContext) => Promise<void>;

export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options?: JobOptions): Promise<void>;
  /** Starts consuming `name` in this process. */
  process<N extends JobName>(name: N, handler: JobHandler<N>, options?: ProcessOptions): void;
  /** Stops taking jobs, waits for running ones, releases connections. */
  close(): Promise<void>;
}
