// Webhooks: a tenant's endpoints (managed with ADMIN, at most maxEndpoints), the events
// written to its delivery log, and the job that POSTs each delivery, signed, with retries.
// Tenants share the delivery slots fairly: a delivery's queue priority is its place among its
// tenant's pending deliveries, and a process runs at most maxPerTenant deliveries of one
// tenant at once, so one tenant's slow endpoints cannot hold every slot.
import { randomUUID } from 'node:crypto';
import type { WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint } from './webhook-types';
import type { WebhookEvent } from './webhook-events';
import { requireScope, requireTenant, hasScope, type Viewer } from '../auth/viewer';
import { toGlobalId, alignToIds } from '../common/ids';
import { ok, refuse, type Outcome, type UserError } from '../common/user-errors';
import { hasForbiddenCharacters } from '../common/text';
import type { Page, PageRequest } from '../common/pagination';
import { backlogPriority, type JobContext, type JobPayloads, type JobQueue } from '../jobs/job-queue';
import type { WebhookRepository } from './webhook-repository';
import { SIGNATURE_HEADER, signWebhookPayload, type WebhookSecrets } from './webhook-signature';
import { postWebhook } from './webhook-post';
import { ipLiteral, isPublicAddress } from './public-address';
import { webhookError } from './webhook-errors';

export { verifyWebhookSignature, WebhookSecrets } from './webhook-signature';

export type { WebhookEvent } from './webhook-events';

export interface WebhookServiceOptions {
  /** How long one attempt waits for the endpoint's response; default 5000 ms. A timeout is a failed attempt (retried). */
  fetchTimeoutMs?: number;
  /** Tries per delivery, the first included; default 6. When the last one fails the delivery is FAILED. */
  attempts?: number;
  /** Delay before try n+1 is backoffMs * 2^(n-1); default 2000 ms (2 s, 4 s, ... about a minute over 6 tries). */
  backoffMs?: number;
  /**
   * Deliver to loopback, private and link-local addresses too; default false: such endpoints are
   * refused when added (IP literals) and a delivery whose host resolves to one fails.
   */
  allowPrivateNetworks?: boolean;
  /** Active endpoints one tenant may have; default 10. More: TOO_MANY_ENDPOINTS. */
  maxEndpoints?: number;
  /** Deliveries one process runs at once; default 8. */
  concurrency?: number;
  /** Deliveries of one tenant one process runs at once; default 2 (the others wait, the slots stay free for other tenants). */
  maxPerTenant?: number;
}

export interface AddWebhookEndpointInput {
  url: string;
  events: WebhookEvent[];
}

export interface DeliveryFilter {
  /** Only this endpoint's deliveries. null: an ID that names no endpoint, so nothing matches. Undefined: any endpoint. */
  endpointId?: string | null;
  status?: WebhookDeliveryStatus | null;
}

const MAX_URL_LENGTH = 2000;
export const DELIVERY_JOB = 'webhook-delivery';

/** A failed attempt that will be retried: thrown to the job queue. */
export class WebhookAttemptFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookAttemptFailed';
  }
}

/** The normalized URL, or the userError explaining why it cannot be an endpoint. */
function checkUrl(raw: string, allowPrivateNetworks: boolean): { url?: string; error?: UserError } {
  const field = ['input', 'url'];
  const refused = (message: string) => ({ error: webhookError('INVALID_URL', message, field) });
  const trimmed = raw.trim();
  if (trimmed.length > MAX_URL_LENGTH) return refused(`the URL must be at most ${MAX_URL_LENGTH} characters`);
  // The URL parser would quietly percent-encode these; a URL that holds them is a mistake or a trick.
  if (hasForbiddenCharacters(trimmed))
    return refused('the URL must not contain control characters, bidirectional overrides or unpaired surrogates');
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return refused('the URL must be an absolute http(s) URL');
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.hostname === '') {
    return refused('the URL must be an absolute http(s) URL');
  }
  // Credentials in a URL end up in logs and in the delivery log: refuse them.
  if (parsed.username !== '' || parsed.password !== '') return refused('the URL must not contain credentials');
  if (parsed.href.length > MAX_URL_LENGTH) return refused(`the URL must be at most ${MAX_URL_LENGTH} characters`);
  const literal = ipLiteral(parsed.hostname);
  if (!allowPrivateNetworks && literal !== null && !isPublicAddress(literal)) {
    return refused(
      'the URL must point to a public address (IPv4 public unicast, IPv6 global unicast 2000::/3), not a loopback, private, link-local or IPv4-in-IPv6 one',
    );
  }
  return { url: parsed.href };
}

/** DNS failures: with private networks refused they read like a private address (see describeFailure). */
const NAME_NOT_RESOLVED = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA']);

/**
 * A short, generic reason for a failed attempt (it becomes the delivery's lastError, which the
 * tenant reads): a closed set of phrases plus the error code, never a library's message, which
 * may name hosts and addresses. With private networks refused, a name that does not resolve
 * and a name that resolves to a private address get the same reason, so a tenant cannot probe
 * which internal names exist.
 */
export function describeFailure(error: unknown, timeoutMs: number, allowPrivateNetworks: boolean): string {
  // Duck-typed: errors may come from another realm.
  const { name, code, cause } = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
    cause?: unknown;
  };
  if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  // A wrapped network error carries its code on its cause.
  const causeCode = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  const found = typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : '';
  const errorCode = /^[A-Z0-9_]{1,60}$/.test(found) ? found : '';
  if (errorCode === 'EPRIVATEADDRESS' || (!allowPrivateNetworks && NAME_NOT_RESOLVED.has(errorCode))) {
    return 'address not allowed: the host has no public address';
  }
  if (NAME_NOT_RESOLVED.has(errorCode)) return `the host name could not be resolved (${errorCode})`;
  if (errorCode === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (errorCode === 'ECONNRESET' || errorCode === 'EPIPE') return `connection reset (${errorCode})`;
  if (errorCode === 'EHOSTUNREACH' || errorCode === 'ENETUNREACH') return `host unreachable (${errorCode})`;
  if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(errorCode)) return `TLS handshake failed (${errorCode})`;
  return errorCode ? `connection failed (${errorCode})` : 'connection failed';
}

export class WebhookService {
  private readonly fetchTimeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly allowPrivateNetworks: boolean;
  private readonly maxEndpoints: number;
  private readonly concurrency: number;
  private readonly maxPerTenant: number;

  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly queue: JobQueue,
    private readonly secrets: WebhookSecrets,
    options: WebhookServiceOptions = {},
  ) {
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5000;
    this.attempts = options.attempts ?? 6;
    this.backoffMs = options.backoffMs ?? 2000;
    this.allowPrivateNetworks = options.allowPrivateNetworks ?? false;
    this.maxEndpoints = options.maxEndpoints ?? 10;
    this.concurrency = options.concurrency ?? 8;
    this.maxPerTenant = options.maxPerTenant ?? 2;
  }

  /** Starts delivering in this process (the composition root decides which processes do). */
  processDeliveries(): void {
    this.queue.process(DELIVERY_JOB, (payload, context) => this.deliver(payload, context), {
      concurrency: this.concurrency,
      maxPerGroup: this.maxPerTenant,
    });
  }

  async addEndpoint(viewer: Viewer, input: AddWebhookEndpointInput): Promise<Outcome<{ endpoint: WebhookEndpoint; secret: string }>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    const url = checkUrl(input.url, this.allowPrivateNetworks);
    const events = [...new Set(input.events)];
    const errors = [url.error].filter((e): e is UserError => e !== undefined);
    if (events.length === 0)
      errors.push(webhookError('EVENTS_REQUIRED', 'subscribe the endpoint to at least one event', ['input', 'events']));
    if (errors.length > 0 || !url.url) return refuse(...errors);
    const endpoint = await this.webhooks.createEndpoint(tenantId, { id: randomUUID(), url: url.url, events }, this.maxEndpoints);
    if (!endpoint) {
      return refuse(
        webhookError('TOO_MANY_ENDPOINTS', `a tenant may have at most ${this.maxEndpoints} webhook endpoints; remove one first`),
      );
    }
    return ok({ endpoint, secret: this.secrets.secretFor(endpoint.id) });
  }

  /** Removes an active endpoint; its delivery log is kept, and pending deliveries to it end FAILED. */
  async removeEndpoint(viewer: Viewer, endpointId: string | null): Promise<Outcome<WebhookEndpoint>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    const endpoint = endpointId ? await this.webhooks.removeEndpoint(tenantId, endpointId, new Date()) : null;
    return endpoint ? ok(endpoint) : refuse(webhookError('NOT_FOUND', 'no webhook endpoint with this id', ['id']));
  }

  /** Active endpoints, newest first. */
  listEndpoints(viewer: Viewer, page: PageRequest): Promise<Page<WebhookEndpoint>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    return this.webhooks.listEndpoints(tenantId, page);
  }

  /** The delivery log, newest first. */
  async listDeliveries(viewer: Viewer, page: PageRequest, filter: DeliveryFilter = {}): Promise<Page<WebhookDelivery>> {
    const { tenantId } = requireScope(viewer, 'ADMIN');
    if (filter.endpointId === null) return { items: [], hasNextPage: false, totalCount: 0 };
    return this.webhooks.listDeliveries(tenantId, page, { endpointId: filter.endpointId, status: filter.status ?? undefined });
  }

  /**
   * Endpoints by id (removed ones included: deliveries refer to them), in the order asked;
   * null where missing or when the viewer is not an ADMIN key (node(id:), batch loader).
   */
  async findEndpoints(viewer: Viewer, ids: readonly string[]): Promise<(WebhookEndpoint | null)[]> {
    const tenantViewer = requireTenant(viewer);
    if (!hasScope(tenantViewer, 'ADMIN')) return ids.map(() => null);
    const rows = await this.webhooks.findEndpoints(tenantViewer.tenantId, ids);
    return alignToIds(ids, rows);
  }

  /** Deliveries by id, in the order asked; null where missing or when the viewer is not an ADMIN key. */
  async findDeliveries(viewer: Viewer, ids: readonly string[]): Promise<(WebhookDelivery | null)[]> {
    const tenantViewer = requireTenant(viewer);
    if (!hasScope(tenantViewer, 'ADMIN')) return ids.map(() => null);
    const rows = await this.webhooks.findDeliveries(tenantViewer.tenantId, ids);
    return alignToIds(ids, rows);
  }

  /**
   * Records `event` for every active endpoint of the tenant subscribed to it and enqueues
   * its delivery; does nothing when none listens. `data` should carry global IDs. Throws
   * when the database or the queue fails: callers whose own work succeeded should log it.
   * A delivery written but not enqueued (the queue failed) stays PENDING.
   */
  async notify(tenantId: string, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    const endpoints = await this.webhooks.findSubscribers(tenantId, event);
    if (endpoints.length === 0) return;
    const createdAt = new Date();
    const deliveries = endpoints.map((endpoint) => {
      const id = randomUUID();
      const payload = JSON.stringify({ id: toGlobalId('WebhookDelivery', id), event, createdAt: createdAt.toISOString(), data });
      return { id, endpointId: endpoint.id, event, payload, createdAt };
    });
    const pendingBefore = await this.webhooks.createDeliveries(tenantId, deliveries);
    for (const [i, delivery] of deliveries.entries()) {
      await this.queue.enqueue(
        DELIVERY_JOB,
        { tenantId, deliveryId: delivery.id },
        {
          jobId: delivery.id,
          attempts: this.attempts,
          backoffMs: this.backoffMs,
          priority: backlogPriority(pendingBefore + i + 1),
          group: tenantId,
        },
      );
    }
  }

  /**
   * The 'webhook-delivery' job: one attempt. 2xx marks the delivery SUCCEEDED. Anything
   * else (another status, a redirect, a timeout, a network error) is recorded and thrown,
   * so the queue retries, except on the last attempt, which marks it FAILED.
   */
  async deliver(job: JobPayloads['webhook-delivery'], context: JobContext): Promise<void> {
    const { tenantId, deliveryId } = job;
    const delivery = await this.webhooks.findDeliveryWithEndpoint(tenantId, deliveryId);
    // Gone (tenant deleted) or already final (a duplicate run): nothing to do.
    if (!delivery || delivery.status !== 'PENDING') return;
    if (delivery.endpoint.removedAt) {
      await this.webhooks.abandon(tenantId, deliveryId, 'endpoint removed');
      return;
    }

    const timestamp = Math.floor(Date.now() / 1000);
    let statusCode: number | null = null;
    let failure: string | null = null;
    try {
      statusCode = await postWebhook(
        delivery.endpoint.url,
        {
          'content-type': 'application/json',
          'user-agent': 'Atelier-Webhooks/1',
          [SIGNATURE_HEADER]: signWebhookPayload(this.secrets.secretFor(delivery.endpointId), delivery.payload, timestamp),
          'Atelier-Event': delivery.event,
          'Atelier-Delivery': toGlobalId('WebhookDelivery', delivery.id),
        },
        delivery.payload,
        { timeoutMs: this.fetchTimeoutMs, allowPrivateNetworks: this.allowPrivateNetworks },
      );
      if (statusCode < 200 || statusCode > 299) {
        // A redirect could point anywhere, not the URL the tenant registered: it counts as a failure.
        failure = statusCode >= 300 && statusCode < 400 ? `HTTP ${statusCode} (redirects are not followed)` : `HTTP ${statusCode}`;
      }
    } catch (error) {
      failure = describeFailure(error, this.fetchTimeoutMs, this.allowPrivateNetworks);
    }

    const last = context.attempt >= context.maxAttempts;
    const status: WebhookDeliveryStatus = failure === null ? 'SUCCEEDED' : last ? 'FAILED' : 'PENDING';
    const recorded = await this.webhooks.recordAttempt(tenantId, deliveryId, { status, statusCode, error: failure, at: new Date() });
    if (recorded && status === 'PENDING') throw new WebhookAttemptFailed(failure ?? 'failed');
  }
}
