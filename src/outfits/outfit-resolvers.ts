// GraphQL resolvers of outfits.
import type { Resolvers } from '../generated/graphql';
import type { Garment } from '../garments/garment-types';
import { optionalGlobalId, toGlobalId } from '../common/ids';
import { parsePageArgs, toConnection } from '../common/pagination';
import { payload } from '../graphql/kit/payloads';
import type { NodeRegistration } from '../graphql/kit/nodes';

export const outfitResolvers: Resolvers = {
  Query: {
    outfits: async (_, args, { services, viewer }) => {
      const page = parsePageArgs(args.first, args.after);
      return toConnection(await services.outfits.listOutfits(viewer, page), page);
    },
  },
  Mutation: {
    createOutfit: async (_, { input }, { services, viewer }) => {
      const shopperId = optionalGlobalId(input.shopperId, 'Shopper');
      return payload('outfit', await services.outfits.createOutfit(viewer, { name: input.name, garmentIds: input.garmentIds, shopperId }));
    },
  },
  Outfit: {
    id: (outfit) => toGlobalId('Outfit', outfit.id),
    garments: async (outfit, _, { loaders }) => {
      const items = await loaders.outfitItems.load(outfit.id);
      const garments = await loaders.garment.loadMany(items.map((item) => item.garmentId));
      return garments.filter((g): g is Garment => g !== null && !(g instanceof Error));
    },
    shopper: (outfit, _, { loaders }) => (outfit.shopperId ? loaders.shopper.load(outfit.shopperId) : null),
  },
};

export const outfitNodes: NodeRegistration[] = [{ type: 'Outfit', load: (uuid, { loaders }) => loaders.outfit.load(uuid) }];
