// GraphQL resolvers of renders. Until the render pipeline lands, requesting a render is
// refused with a userError and the list is empty.
import type { Resolvers } from '../generated/graphql';
import { requireTenant } from '../auth/viewer';
import { parsePageArgs } from '../common/pagination';
import { toGlobalId } from '../common/ids';
import { userError } from '../common/user-errors';

const unavailable = userError('RENDERS_UNAVAILABLE', 'this server has no render pipeline yet');

export const renderResolvers: Resolvers = {
  Query: {
    renders: (_, args, { viewer }) => {
      requireTenant(viewer);
      parsePageArgs(args.first, args.after);
      return { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }, totalCount: 0 };
    },
  },
  Mutation: {
    requestRender: (_, __, { viewer }) => {
      requireTenant(viewer);
      return { render: null, userErrors: [unavailable] };
    },
    cancelRender: (_, __, { viewer }) => {
      requireTenant(viewer);
      return { render: null, userErrors: [unavailable] };
    },
  },
  Render: {
    id: (render) => toGlobalId('Render', render.id),
  },
};
