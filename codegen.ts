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
        // Parent types are the domains' own types (never database rows); imported with this suffix
        // because they share the GraphQL types' names.
        mapperTypeSuffix: 'Parent',
        mappers: {
          Tenant: '../tenants/tenant-types#Tenant',
          ApiKey: '../tenants/tenant-types#ApiKey',
          Shopper: '../shoppers/shopper-types#Shopper',
          Garment: '../garments/garment-types#Garment',
          ReferenceCache: '../garments/garment-types#ReferenceCacheState',
          PersonPhoto: '../photos/photo-types#PersonPhoto',
          Outfit: '../outfits/outfit-types#Outfit',
          Render: '../renders/render-types#Render',
          Image: '../images/stored-image#StoredImage',
          RenderProgress: '../renders/render-types#RenderProgress',
          WebhookEndpoint: '../webhooks/webhook-types#WebhookEndpoint',
          WebhookDelivery: '../webhooks/webhook-types#WebhookDelivery',
        },
      },
    },
  },
};
export default config;
