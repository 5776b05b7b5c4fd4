// The only code that touches webhook_endpoints and webhook_deliveries.
import type { WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEvent } from './webhook-types';
import type { Database } from '../db/database';
import { keysetQuery, toPage, type Page, type PageRequest } from '../common/pagination';

export interface NewWebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEvent[];
}

export interface NewWebhookDelivery {
  id: string;
  endpointId: string;
  event: WebhookEvent;
  payload: string;
  createdAt: Date;
}

/** The outcome of one delivery attempt; `attempts` is incremented by the write itself. */
export interface DeliveryAttempt {
  status: WebhookDeliveryStatus;
  statusCode: number | null;
  error: string | null;
  at: Date;
}

export class WebhookRepository {
  constructor(private readonly db: Database) {}

  /** Creates the endpoint unless the tenant already has `maxActive` active ones (null then); the tenant's row is locked for the count. */
  createEndpoint(tenantId: string, endpoint: NewWebhookEndpoint, maxActive: number): Promise<WebhookEndpoint | null> {
    return this.db.withTenant(tenantId, async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM tenants WHERE id = ${tenantId}::uuid FOR UPDATE`;
      if ((await tx.webhookEndpoint.count({ where: { tenantId, removedAt: null } })) >= maxActive) return null;
      return tx.webhookEndpoint.create({ data: { ...endpoint, tenantId } });
    });
  }

  /** Marks an active endpoint removed; null when it does not exist in this tenant or was already removed. */
  removeEndpoint(tenantId: string, id: string, at: Date): Promise<WebhookEndpoint | null> {
    return this.db.withTenant(tenantId, async (tx) => {
      const { count } = await tx.webhookEndpoint.updateMany({ where: { id, tenantId, removedAt: null }, data: { removedAt: at } });
      return count === 1 ? tx.webhookEndpoint.findUnique({ where: { id } }) : null;
    });
  }

  /** Endpoints by id, removed ones included (the delivery log still refers to them). */
  findEndpoints(tenantId: string, ids: readonly string[]): Promise<WebhookEndpoint[]> {
    return this.db.withTenant(tenantId, (tx) => tx.webhookEndpoint.findMany({ where: { tenantId, id: { in: [...ids] } } }));
  }

  /** Active endpoints subscribed to `event`. */
  async findSubscribers(tenantId: string, event: WebhookEvent): Promise<WebhookEndpoint[]> {
    // Filtered here, not with `events: { has }`: the PGlite adapter sends that enum-array
    // parameter as a scalar ("malformed array literal"); a tenant has few endpoints.
    const active = await this.db.withTenant(tenantId, (tx) =>
      tx.webhookEndpoint.findMany({ where: { tenantId, removedAt: null }, orderBy: { createdAt: 'asc' } }),
    );
    return active.filter((endpoint) => endpoint.events.includes(event));
  }

  listEndpoints(tenantId: string, page: PageRequest): Promise<Page<WebhookEndpoint>> {
    const where = { tenantId, removedAt: null };
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([
        tx.webhookEndpoint.findMany({ ...q, where: { ...where, ...q.where } }),
        tx.webhookEndpoint.count({ where }),
      ]);
      return toPage(rows, page, total);
    });
  }

  /** Writes the deliveries; returns how many of the tenant's deliveries were PENDING before them (their place in its backlog). */
  createDeliveries(tenantId: string, deliveries: readonly NewWebhookDelivery[]): Promise<number> {
    return this.db.withTenant(tenantId, async (tx) => {
      const pending = await tx.webhookDelivery.count({ where: { tenantId, status: 'PENDING' } });
      await tx.webhookDelivery.createMany({ data: deliveries.map((d) => ({ ...d, tenantId })) });
      return pending;
    });
  }

  findDeliveries(tenantId: string, ids: readonly string[]): Promise<WebhookDelivery[]> {
    return this.db.withTenant(tenantId, (tx) => tx.webhookDelivery.findMany({ where: { tenantId, id: { in: [...ids] } } }));
  }

  /** A delivery with its endpoint (removed or not), or null. */
  findDeliveryWithEndpoint(tenantId: string, id: string): Promise<(WebhookDelivery & { endpoint: WebhookEndpoint }) | null> {
    return this.db.withTenant(tenantId, (tx) => tx.webhookDelivery.findFirst({ where: { id, tenantId }, include: { endpoint: true } }));
  }

  listDeliveries(
    tenantId: string,
    page: PageRequest,
    filter: { endpointId?: string; status?: WebhookDeliveryStatus },
  ): Promise<Page<WebhookDelivery>> {
    const where = {
      tenantId,
      ...(filter.endpointId ? { endpointId: filter.endpointId } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([
        tx.webhookDelivery.findMany({ ...q, where: { ...where, ...q.where } }),
        tx.webhookDelivery.count({ where }),
      ]);
      return toPage(rows, page, total);
    });
  }

  /**
   * Records an attempt on a delivery that is still PENDING (a duplicate run never
   * overwrites a final status); false when it was no longer PENDING.
   */
  recordAttempt(tenantId: string, id: string, attempt: DeliveryAttempt): Promise<boolean> {
    return this.db.withTenant(tenantId, async (tx) => {
      const { count } = await tx.webhookDelivery.updateMany({
        where: { id, tenantId, status: 'PENDING' },
        data: {
          status: attempt.status,
          attempts: { increment: 1 },
          lastStatusCode: attempt.statusCode,
          lastError: attempt.error,
          lastAttemptAt: attempt.at,
          ...(attempt.status === 'SUCCEEDED' ? { deliveredAt: attempt.at } : {}),
        },
      });
      return count === 1;
    });
  }

  /** Ends a PENDING delivery without an attempt (its endpoint was removed). */
  abandon(tenantId: string, id: string, error: string): Promise<void> {
    return this.db.withTenant(tenantId, async (tx) => {
      await tx.webhookDelivery.updateMany({ where: { id, tenantId, status: 'PENDING' }, data: { status: 'FAILED', lastError: error } });
    });
  }
}
