// What every resolver receives: the caller, the services, per-operation loaders. Both
// transports (HTTP and graphql-ws) build it with operationContext, once per operation.
import type { Viewer } from '../../auth/viewer';
import type { Services } from './services';
import { createLoaders, type Loaders } from './loaders';

/** A request whose answer may be kept (graphql/answer-cache.ts): its key, and once Apollo has answered, how long it may be kept. */
export interface PendingAnswer {
  key: string;
  /** Set by answerCachePlugin when the answer may be shared (no errors, a cache hint on every field). */
  maxAgeSeconds?: number;
}

export interface GraphQLContext {
  viewer: Viewer;
  services: Services;
  loaders: Loaders;
  requestId: string;
  /** HTTP only: the answer cache's key for this request, when its answer may be kept. */
  answer?: PendingAnswer;
}

/** The context of one operation: its own loaders, so nothing loaded is shared between operations. */
export function operationContext(services: Services, viewer: Viewer, requestId: string, answer?: PendingAnswer): GraphQLContext {
  return { viewer, services, loaders: createLoaders(services, viewer), requestId, ...(answer === undefined ? {} : { answer }) };
}
