// The answer cache's policy, read from the document (cache-policy.ts), is Apollo's cache-control
// plugin's, computed field by field at run time, for the schema's real hints: equal where no
// interface or union is involved, never looser where one is.
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { readFileSync } from 'node:fs';
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isEnumType,
  isListType,
  isObjectType,
  isScalarType,
  parse,
  getOperationAST,
  type GraphQLFieldResolver,
} from 'graphql';
import { schemaPath } from '../../src/common/project-paths';
import { CachePolicies } from '../../src/graphql/cache-policy';

// The schema's own SDL and hints, without its resolvers: `fake` answers every field.
const schema = buildSchema(readFileSync(schemaPath, 'utf8'));

/** Every field resolves to something: lists of two, objects, the first enum value, the first object type of an abstract type. */
const fake: GraphQLFieldResolver<unknown, unknown> = (_source, _args, _context, info) => {
  const one = (type: ReturnType<typeof getNamedType>): unknown => {
    if (isAbstractType(type)) return { __typename: schema.getPossibleTypes(type)[0]!.name };
    if (isObjectType(type)) return {};
    if (isEnumType(type)) return type.getValues()[0]!.value;
    if (isScalarType(type)) return ({ Int: 1, Float: 1.5, Boolean: true } as Record<string, unknown>)[type.name] ?? 'x';
    return null;
  };
  const type = getNullableType(info.returnType);
  return isListType(type) ? [one(getNamedType(type)), one(getNamedType(type))] : one(getNamedType(type));
};

async function apolloPolicy(query: string): Promise<{ maxAge: number; scope: string } | null> {
  let policy: { maxAge: number; scope: string } | null = null;
  const capture: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        async willSendResponse({ overallCachePolicy }) {
          policy = overallCachePolicy.policyIfCacheable();
        },
      };
    },
  };
  const server = new ApolloServer({
    schema,
    fieldResolver: fake,
    plugins: [ApolloServerPluginCacheControl({ calculateHttpHeaders: false }), capture],
  });
  await server.start();
  const response = await server.executeOperation({ query });
  await server.stop();
  if (response.body.kind === 'single') expect(response.body.singleResult.errors).toBeUndefined();
  return policy;
}

const ours = (query: string) => {
  const document = parse(query);
  return new CachePolicies(schema).policyOf(document, getOperationAST(document)!);
};

const EXACT = [
  '{ garments(first: 50) { edges { node { id sku category image { url } referenceCache { status bytes } } } } }',
  '{ garments { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name archived createdAt image { url width } referenceCache { status model bytes computeMs error updatedAt } } } } }',
  'query Page { garments(first: 2) { ...Conn } } fragment Conn on GarmentConnection { edges { node { ... on Garment { id __typename } ...G } } } fragment G on Garment { sku }',
  '{ garments { edges { node { ... on Node { id } } } } }',
  '{ __typename garments { __typename } }',
  '{ __typename }',
  '{ garments { totalCount } outfits { totalCount } }',
  '{ outfits { edges { node { id garments { id sku } } } } }',
  'mutation { archiveGarment(id: "x") { userErrors { code } } }',
];
const ABSTRACT = ['{ node(id: "x") { id ... on Garment { sku } } }', '{ garments { edges { node { sku } } } node(id: "y") { id } }'];

describe('CachePolicies', () => {
  test.each(EXACT)('equals Apollo for %s', async (query) => {
    expect(ours(query)).toEqual(await apolloPolicy(query));
  });

  test('a catalog page may be shared, privately, for its hint of 5 s', () => {
    expect(ours(EXACT[0]!)).toEqual({ maxAge: 5, scope: 'PRIVATE' });
  });

  test.each(ABSTRACT)('is never looser than Apollo where an interface is involved: %s', async (query) => {
    const apollo = await apolloPolicy(query);
    const policy = ours(query);
    if (policy !== null) {
      expect(apollo).not.toBeNull();
      expect(policy.maxAge).toBeLessThanOrEqual(apollo!.maxAge);
      if (apollo!.scope === 'PRIVATE') expect(policy.scope).toBe('PRIVATE');
    }
  });

  test('is computed once per document and operation', () => {
    const policies = new CachePolicies(schema);
    const document = parse('query A { garments { totalCount } } query B { __typename }');
    const a = getOperationAST(document, 'A')!;
    expect(policies.policyOf(document, a)).toBe(policies.policyOf(document, a));
    expect(policies.policyOf(document, getOperationAST(document, 'B')!)).toBeNull();
  });
});
