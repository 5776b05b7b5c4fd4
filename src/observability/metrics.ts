// Prometheus metrics: GraphQL operations, their errors and durations, by a bounded set of
// operation labels (operation-labels.ts). Served by metrics-server.ts on a port of their own
// (ATELIER_METRICS_PORT), and on the main port to the operator token (src/http/http-app.ts).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OperationLabels } from './operation-labels';

export interface Metrics {
  registry: Registry;
  /** The `operation` label of a client's operation name: bounded, then `other`. */
  operationLabels: OperationLabels;
  operations: Counter<'operation' | 'type'>;
  operationErrors: Counter<'operation' | 'type' | 'code'>;
  operationSeconds: Histogram<'operation' | 'type'>;
  httpRequests: Counter<'route' | 'status'>;
  /** Operations refused before they ran (query limits, rate limits), by code. */
  refusals: Counter<'transport' | 'code'>;
  /** Catalog answers served from the answer cache, before Apollo. */
  answerCacheHits: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'atelier_' });
  return {
    registry,
    operationLabels: new OperationLabels(),
    operations: new Counter({
      name: 'atelier_graphql_operations_total',
      help: 'GraphQL operations executed, by operation name and type',
      labelNames: ['operation', 'type'],
      registers: [registry],
    }),
    operationErrors: new Counter({
      name: 'atelier_graphql_errors_total',
      help: 'GraphQL errors returned, by operation and error code (the code the client got; INTERNAL_SERVER_ERROR: a bug or an outage)',
      labelNames: ['operation', 'type', 'code'],
      registers: [registry],
    }),
    operationSeconds: new Histogram({
      name: 'atelier_graphql_operation_duration_seconds',
      help: 'Duration of GraphQL operations',
      labelNames: ['operation', 'type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'atelier_graphql_refusals_total',
      help: 'GraphQL operations refused before running (query limits, rate limits), by transport and code',
      labelNames: ['transport', 'code'],
      registers: [registry],
    }),
    answerCacheHits: new Counter({
      name: 'atelier_graphql_answer_cache_hits_total',
      help: 'GraphQL answers served from the answer cache (catalog reads), without executing',
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'atelier_http_requests_total',
      help: 'HTTP requests outside GraphQL (files, uploads, health), by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
  };
}
