// GraphQL resolvers of shoppers and shopper sessions.
import type { Resolvers } from '../generated/graphql';
import { fromGlobalId, toGlobalId } from '../common/ids';
import { parsePageArgs, toConnection } from '../common/pagination';
import { payload } from '../graphql/kit/payloads';
import type { NodeRegistration } from '../graphql/kit/nodes';

export const shopperResolvers: Resolvers = {
  Query: {
    shoppers: async (_, args, { services, viewer }) => {
      const page = parsePageArgs(args.first, args.after);
      return toConnection(await services.shoppers.listShoppers(viewer, page), page);
    },
  },
  Mutation: {
    createShopper: async (_, { input }, { services, viewer }) => payload('shopper', await services.shoppers.createShopper(viewer, input)),
    createShopperSession: async (_, { shopperId }, { services, viewer }) => {
      const outcome = await services.shoppers.createSession(viewer, fromGlobalId(shopperId, 'Shopper'));
      return outcome.ok
        ? { token: outcome.value.token, expiresAt: outcome.value.expiresAt, userErrors: [] }
        : { token: null, expiresAt: null, userErrors: outcome.errors };
    },
  },
  Shopper: {
    id: (shopper) => toGlobalId('Shopper', shopper.id),
  },
};

export const shopperNodes: NodeRegistration[] = [{ type: 'Shopper', load: (uuid, { loaders }) => loaders.shopper.load(uuid) }];
