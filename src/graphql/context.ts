// What every resolver receives: the caller, the services, per-request loaders.
import type { Viewer } from '../auth/viewer';
import type { Services } from '../main/services';
import type { Loaders } from './loaders';
import type { PendingAnswer } from './answer-cache';

export interface GraphQLContext {
  viewer: Viewer;
  services: Services;
  loaders: Loaders;
  requestId: string;
  /** HTTP only: the answer cache's key for this request, when its answer may be kept. */
  answer?: PendingAnswer;
}
