// GraphQL resolvers of webhook endpoints and the delivery log.
import type { Resolvers } from '../generated/graphql';
import { fromGlobalId, toGlobalId } from '../common/ids';
import { parsePageArgs, toConnection } from '../common/pagination';
import { payload } from '../graphql/kit/payloads';
import type { NodeRegistration } from '../graphql/kit/nodes';

export const webhookResolvers: Resolvers = {
  Query: {
    webhookEndpoints: async (_, args, { services, viewer }) => {
      const page = parsePageArgs(args.first, args.after);
      return toConnection(await services.webhooks.listEndpoints(viewer, page), page);
    },
    webhookDeliveries: async (_, args, { services, viewer }) => {
      const page = parsePageArgs(args.first, args.after);
      // A malformed ID or another type's ID becomes null: it matches nothing.
      const endpointId = args.endpointId == null ? undefined : fromGlobalId(args.endpointId, 'WebhookEndpoint');
      return toConnection(await services.webhooks.listDeliveries(viewer, page, { endpointId, status: args.status }), page);
    },
  },
  Mutation: {
    addWebhookEndpoint: async (_, { input }, { services, viewer }) => {
      const outcome = await services.webhooks.addEndpoint(viewer, input);
      return outcome.ok
        ? { endpoint: outcome.value.endpoint, secret: outcome.value.secret, userErrors: [] }
        : { endpoint: null, secret: null, userErrors: outcome.errors };
    },
    removeWebhookEndpoint: async (_, { id }, { services, viewer }) =>
      payload('endpoint', await services.webhooks.removeEndpoint(viewer, fromGlobalId(id, 'WebhookEndpoint'))),
  },
  WebhookEndpoint: {
    id: (endpoint) => toGlobalId('WebhookEndpoint', endpoint.id),
  },
  WebhookDelivery: {
    id: (delivery) => toGlobalId('WebhookDelivery', delivery.id),
    endpoint: async (delivery, _, { loaders }) => {
      const endpoint = await loaders.webhookEndpoint.load(delivery.endpointId);
      // The foreign key keeps the endpoint row; only a viewer without ADMIN (who cannot list deliveries) sees null.
      if (!endpoint) throw new Error(`webhook endpoint ${delivery.endpointId} of delivery ${delivery.id} not visible`);
      return endpoint;
    },
  },
};

export const webhookNodes: NodeRegistration[] = [
  { type: 'WebhookEndpoint', load: (uuid, { loaders }) => loaders.webhookEndpoint.load(uuid) },
  { type: 'WebhookDelivery', load: (uuid, { loaders }) => loaders.webhookDelivery.load(uuid) },
];
