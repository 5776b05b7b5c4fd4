// Generated from schema.graphql (never written by hand): npm run generate. The server's
// resolver types, and the web app's typed client: a `graphql()` function that turns each
// operation written in web/src into a typed document string (TypedDocumentString).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'web/src/generated/': {
      documents: ['web/src/**/*.{ts,tsx}', '!web/src/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Plain strings, not ASTs: the page needs no GraphQL parser or printer.
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: 'string', ID: 'string' },
      },
    },
    'src/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: true,
        contextType: '../graphql/kit/context#GraphQLContext',
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
