// Resolver types are generated from schema.graphql (never written by hand): npm run generate.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'src/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: true,
        contextType: '../graphql/context#GraphQLContext',
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { DateTime: 'Date', ID: 'string' },
        mappers: {
          Tenant: '../graphql/models#TenantModel',
          ApiKey: '../graphql/models#ApiKeyModel',
          Shopper: '../graphql/models#ShopperModel',
          Garment: '../graphql/models#GarmentModel',
          ReferenceCache: '../graphql/models#ReferenceCacheModel',
          PersonPhoto: '../graphql/models#PersonPhotoModel',
          Outfit: '../graphql/models#OutfitModel',
          Render: '../graphql/models#RenderModel',
          Image: '../graphql/models#ImageModel',
          RenderProgress: '../graphql/models#RenderProgressModel',
          WebhookEndpoint: '../graphql/models#WebhookEndpointModel',
          WebhookDelivery: '../graphql/models#WebhookDeliveryModel',
        },
      },
    },
  },
};
export default config;
