// GraphQL resolvers of the catalog.
import type { Resolvers } from '../generated/graphql';
import { fromGlobalId, toGlobalId } from '../common/ids';
import { parsePageArgs, toConnection } from '../common/pagination';
import { payload } from '../graphql/kit/payloads';
import { selects } from '../graphql/kit/selection';
import type { Garment, ReferenceCache, ReferenceCacheState } from './garment-types';
import type { NodeRegistration } from '../graphql/kit/nodes';

export const garmentResolvers: Resolvers = {
  Query: {
    garments: async (_, args, { services, viewer, loaders }, info) => {
      const page = parsePageArgs(args.first, args.after);
      const result = await services.garments.listGarments(viewer, page, args.category, {
        count: selects(info, ['totalCount']),
        caches: selects(info, ['edges', 'node', 'referenceCache']),
      });
      // The caches came with the page: Garment.referenceCache finds them without a query.
      for (const [garmentId, cache] of result.caches ?? []) loaders.pagedReferenceCaches.set(garmentId, cache);
      return toConnection(result.page, page);
    },
  },
  Mutation: {
    createUpload: async (_, { input }, { services, viewer }) => {
      const outcome = await services.uploads.createUpload(viewer, input);
      return outcome.ok
        ? { ...outcome.value, userErrors: [] }
        : { uploadId: null, uploadUrl: null, expiresAt: null, userErrors: outcome.errors };
    },
    createGarment: async (_, { input }, { services, viewer }) => payload('garment', await services.garments.createGarment(viewer, input)),
    retryReferenceCache: async (_, { garmentId }, { services, viewer }) =>
      payload('garment', await services.garments.retryReferenceCache(viewer, fromGlobalId(garmentId, 'Garment'))),
    archiveGarment: async (_, { id }, { services, viewer }) =>
      payload('garment', await services.garments.archiveGarment(viewer, fromGlobalId(id, 'Garment'))),
  },
  Subscription: {
    referenceCacheChanged: {
      // The iterator yields garments rather than { referenceCacheChanged }: resolve passes each through.
      subscribe: async (_, __, { services, viewer }) => services.garments.cacheChanges(viewer),
      resolve: (garment: Garment) => garment,
    },
  },
  Garment: {
    id: (garment) => toGlobalId('Garment', garment.id),
    image: (garment) => ({
      key: garment.imageKey,
      width: garment.imageWidth,
      height: garment.imageHeight,
      contentType: garment.imageContentType,
    }),
    referenceCache: (garment, _, { loaders, services }) => {
      // No row yet for the current model (a new model version): computed lazily, so PENDING.
      const view = (cache: ReferenceCache | null): ReferenceCacheState =>
        cache
          ? {
              status: cache.status,
              model: cache.model,
              bytes: cache.bytes,
              computeMs: cache.computeMs,
              error: cache.error,
              updatedAt: cache.updatedAt,
            }
          : {
              status: 'PENDING' as const,
              model: services.garments.defaultModel,
              bytes: null,
              computeMs: null,
              error: null,
              updatedAt: garment.createdAt,
            };
      const paged = loaders.pagedReferenceCaches.get(garment.id);
      return paged !== undefined ? view(paged) : loaders.referenceCache.load(garment.id).then(view);
    },
  },
  Image: {
    url: (image, _, { services }) => services.fileLinks.url(image.key),
  },
};

export const garmentNodes: NodeRegistration[] = [{ type: 'Garment', load: (uuid, { loaders }) => loaders.garment.load(uuid) }];
