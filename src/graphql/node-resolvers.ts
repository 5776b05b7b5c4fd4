// node(id:) for every Node type, and the DateTime scalar. A malformed ID, another type's
// ID and another tenant's ID all resolve to null, exactly like an ID that does not exist.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import type { Resolvers } from '../generated/graphql';
import { parseGlobalId } from '../common/ids';
import { requireTenant } from '../auth/viewer';
import { nodeRegistry, type NodeRegistration } from './kit/nodes';

type Tagged = { __typename: string };

/** node(id:) over the Node types the domains registered (kit/nodes.ts), and the DateTime scalar. */
export function createNodeResolvers(registrations: readonly NodeRegistration[]): Resolvers {
  const registry = nodeRegistry(registrations);
  return {
    Query: {
      node: async (_, { id }, context) => {
        requireTenant(context.viewer);
        const parsed = parseGlobalId(id);
        const registration = parsed ? registry.get(parsed.type) : undefined;
        const node = parsed && registration ? await registration.load(parsed.uuid, context) : null;
        return node && registration ? ({ ...node, __typename: registration.type } as never) : null;
      },
    },
    Node: {
      __resolveType: (node) => (node as unknown as Tagged).__typename as never,
    },
    DateTime,
  };
}

const DateTime = new GraphQLScalarType<Date, string>({
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
});
