// GraphQL resolvers of renders and of the renderProgress subscription.
import type { Resolvers } from '../generated/graphql';
import { fromGlobalId, toGlobalId } from '../common/ids';
import { parsePageArgs, toConnection } from '../common/pagination';
import { payload } from '../graphql/kit/payloads';
import type { RenderProgress } from './render-types';
import type { RenderService } from './render-service';
import type { GraphQLContext } from '../graphql/kit/context';
import type { NodeRegistration } from '../graphql/kit/nodes';

const renders = (context: GraphQLContext): RenderService => context.services.renders;

export const renderResolvers: Resolvers = {
  Query: {
    renders: async (_, args, context) => {
      const page = parsePageArgs(args.first, args.after);
      return toConnection(await renders(context).listRenders(context.viewer, page, args.status), page);
    },
  },
  Mutation: {
    requestRender: async (_, { input }, context) => payload('render', await renders(context).requestRender(context.viewer, input)),
    cancelRender: async (_, { id }, context) =>
      payload('render', await renders(context).cancelRender(context.viewer, fromGlobalId(id, 'Render'))),
  },
  Subscription: {
    renderProgress: {
      subscribe: async function* (_, { renderId, previews }, context) {
        for await (const event of await renders(context).progress(context.viewer, renderId, { previews: previews === true })) {
          const progress: RenderProgress = {
            render: event.render,
            status: event.render.status,
            step: event.step,
            totalSteps: event.totalSteps,
            etaMs: event.etaMs,
            preview: previews && event.preview ? { ...event.preview, contentType: 'image/png' } : null,
          };
          yield { renderProgress: progress };
        }
      },
    },
  },
  Render: {
    id: (render) => toGlobalId('Render', render.id),
    // A render's own outfit and photo, also when they are not the viewing shopper's own.
    outfit: async (render, _, { loaders }) => (await loaders.outfitOfRender.load(render))!,
    personPhoto: async (render, _, { loaders }) => (await loaders.personPhotoOfRender.load(render))!,
    result: (render) =>
      render.resultKey && render.resultWidth && render.resultHeight
        ? { key: render.resultKey, width: render.resultWidth, height: render.resultHeight, contentType: 'image/png' }
        : null,
    error: (render) => (render.errorCode ? { code: render.errorCode, message: render.errorMessage ?? '' } : null),
    timings: (render) =>
      render.startedAt
        ? {
            queueMs: render.queueMs,
            loadMs: render.loadMs,
            referenceMs: render.referenceMs,
            denoiseMs: render.denoiseMs,
            decodeMs: render.decodeMs,
            finishMs: render.finishMs,
            totalMs: render.totalMs,
          }
        : null,
  },
};

export const renderNodes: NodeRegistration[] = [
  { type: 'Render', load: (uuid, context) => renders(context).findRender(context.viewer, uuid) },
];
