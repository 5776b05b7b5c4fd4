// GraphQL resolvers of tenants and API keys: unpack arguments, call the service, shape the result.
import type { Resolvers } from '../generated/graphql';
import { fromGlobalId, toGlobalId } from '../common/ids';
import { parsePageArgs, toConnection } from '../common/pagination';
import { payload } from '../graphql/kit/payloads';
import type { NodeRegistration } from '../graphql/kit/nodes';

export const tenantResolvers: Resolvers = {
  Query: {
    tenant: (_, __, { services, viewer }) => services.tenants.currentTenant(viewer),
    apiKeys: async (_, args, { services, viewer }) => {
      const page = parsePageArgs(args.first, args.after);
      return toConnection(await services.tenants.listApiKeys(viewer, page), page);
    },
  },
  Mutation: {
    createTenant: async (_, { input }, { services, viewer }) => {
      const outcome = await services.tenants.createTenant(viewer, input);
      return outcome.ok
        ? { tenant: outcome.value.tenant, apiKey: outcome.value.apiKey, userErrors: [] }
        : { tenant: null, apiKey: null, userErrors: outcome.errors };
    },
    createApiKey: async (_, { input }, { services, viewer }) => {
      const outcome = await services.tenants.createApiKey(viewer, input);
      return outcome.ok
        ? { apiKey: outcome.value.apiKey, secret: outcome.value.secret, userErrors: [] }
        : { apiKey: null, secret: null, userErrors: outcome.errors };
    },
    revokeApiKey: async (_, { id }, { services, viewer }) =>
      payload('apiKey', await services.tenants.revokeApiKey(viewer, fromGlobalId(id, 'ApiKey'))),
  },
  Tenant: {
    id: (tenant) => toGlobalId('Tenant', tenant.id),
  },
  ApiKey: {
    id: (key) => toGlobalId('ApiKey', key.id),
  },
};

/** The tenant node is the viewer's own tenant only. */
export const tenantNodes: NodeRegistration[] = [
  {
    type: 'Tenant',
    load: async (uuid, { services, viewer }) => {
      const tenant = await services.tenants.currentTenant(viewer);
      return tenant.id === uuid ? tenant : null;
    },
  },
  { type: 'ApiKey', load: (uuid, { loaders }) => loaders.apiKey.load(uuid) },
];
