// The webhooks domain's types: what repositories return, services pass on and resolvers receive
// as parents (codegen.ts "mappers"). A database row is assignable to them as it is.
import type { WebhookEvent } from './webhook-events';

export type { WebhookEvent };

export type WebhookDeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface WebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  /** The events it receives. */
  events: WebhookEvent[];
  createdAt: Date;
  /** Set when removed: it receives nothing more, its delivery log is kept. */
  removedAt: Date | null;
}

/** One event sent to one endpoint, with its attempts (the tenant's delivery log). */
export interface WebhookDelivery {
  id: string;
  tenantId: string;
  endpointId: string;
  event: WebhookEvent;
  /** The JSON body sent. */
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
}
