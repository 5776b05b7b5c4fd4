// node(id:) for every Node type, and the DateTime scalar. A malformed ID, another type's
// ID and another tenant's ID all resolve to null, exactly like an ID that does not exist.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import type { Resolvers } from '../generated/graphql';
import { parseGlobalId } from '../common/ids';
import { requireTenant } from '../auth/viewer';
import type { GraphQLContext } from './kit/context';

type Tagged = { __typename: string };

async function loadNode(
  parsed: NonNullable<ReturnType<typeof parseGlobalId>>,
  { loaders, services, viewer }: GraphQLContext,
): Promise<object | null> {
  switch (parsed.type) {
    case 'Tenant': {
      const tenant = await services.tenants.currentTenant(viewer);
      return tenant.id === parsed.uuid ? tenant : null;
    }
    case 'ApiKey':
      return loaders.apiKey.load(parsed.uuid);
    case 'Shopper':
      return loaders.shopper.load(parsed.uuid);
    case 'Garment':
      return loaders.garment.load(parsed.uuid);
    case 'PersonPhoto':
      return loaders.personPhoto.load(parsed.uuid);
    case 'Outfit':
      return loaders.outfit.load(parsed.uuid);
    case 'Render':
      return services.renders.findRender(viewer, parsed.uuid);
    case 'Upload':
      return null;
    case 'WebhookEndpoint':
      return loaders.webhookEndpoint.load(parsed.uuid);
    case 'WebhookDelivery':
      return loaders.webhookDelivery.load(parsed.uuid);
  }
}

export const nodeResolvers: Resolvers = {
  Query: {
    node: async (_, { id }, context) => {
      requireTenant(context.viewer);
      const parsed = parseGlobalId(id);
      const node = parsed ? await loadNode(parsed, context) : null;
      return node && parsed ? ({ ...node, __typename: parsed.type } as never) : null;
    },
  },
  Node: {
    __resolveType: (node) => (node as unknown as Tagged).__typename as never,
  },
  DateTime: new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    description: 'An ISO-8601 instant in UTC, e.g. 2026-11-26T12:00:00.000Z.',
    serialize: (value) => {
      if (value instanceof Date) return value.toISOString();
      throw new GraphQLError('DateTime cannot represent a non-date value');
    },
    parseValue: (value) => {
      const date = typeof value === 'string' ? new Date(value) : null;
      if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
      return date;
    },
    parseLiteral: (ast) => {
      const date = ast.kind === Kind.STRING ? new Date(ast.value) : null;
      if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
      return date;
    },
  }),
};
