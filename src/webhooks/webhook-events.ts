// The webhook events, defined once: the schema's WebhookEvent enum (the generated type), and
// the notifier the domains that finish work (renders, reference caches) tell of them.
import type { WebhookEvent } from '../generated/graphql';

export type { WebhookEvent };

/** Where tenant integrations hear about finished work (webhooks; WebhookService is one). */
export interface EventNotifier {
  notify(tenantId: string, event: WebhookEvent, data: Record<string, unknown>): Promise<void>;
}
