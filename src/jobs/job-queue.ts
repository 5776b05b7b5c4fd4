// The job queue interface: an in-process driver (embedded default, single process) and a
// BullMQ driver on Redis (scaled out), chosen in the composition root. Every payload
// carries its tenant. Handlers throw to have the job retried (attempts, backoff).
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
  /** Starts consuming `name` in this process with at most `concurrency` jobs at once (default 1). */
  process<N extends JobName>(name: N, handler: JobHandler<N>, options?: { concurrency?: number }): void;
  /** Stops taking jobs, waits for running ones, releases connections. */
  close(): Promise<void>;
}
