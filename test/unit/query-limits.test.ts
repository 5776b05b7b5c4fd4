// The pure query-limit analysis: each limit's boundary, the cost model, and refusals that
// never throw, whatever the document.
import { getIntrospectionQuery } from 'graphql';
import { buildSchema } from '../../src/graphql/server';
import { analyzeOperation, DEFAULT_QUERY_LIMITS, QueryAnalyzer, type QueryLimits } from '../../src/limits';

const schema = buildSchema();
const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, introspection: true };

function refusal(query: string, overrides: Partial<QueryLimits> = {}, variables: Record<string, unknown> = {}): string | null {
  const result = analyzeOperation(schema, { ...limits, ...overrides }, { query, variables });
  return result.ok ? null : result.refusals[0]!.code;
}

function cost(query: string, variables: Record<string, unknown> = {}): number {
  const result = analyzeOperation(schema, { ...limits, maxCost: 1e9 }, { query, variables });
  if (!result.ok) throw new Error(JSON.stringify(result.refusals));
  return result.cost;
}

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: tenant { id }`).join(' ')} }`;

describe('query limits', () => {
  test('depth: just under passes, just over is refused', () => {
    const depth4 = '{ outfits { edges { node { id } } } }';
    expect(refusal(depth4, { maxDepth: 4 })).toBeNull();
    expect(refusal(depth4, { maxDepth: 3 })).toBe('QUERY_TOO_DEEP');
    // Through fragments, too.
    const viaFragment = '{ outfits { ...O } } fragment O on OutfitConnection { edges { node { id } } }';
    expect(refusal(viaFragment, { maxDepth: 4 })).toBeNull();
    expect(refusal(viaFragment, { maxDepth: 3 })).toBe('QUERY_TOO_DEEP');
  });

  test('aliases, root fields, directives, tokens and size at their boundaries', () => {
    expect(refusal(aliases(5), { maxAliases: 5 })).toBeNull();
    expect(refusal(aliases(6), { maxAliases: 5 })).toBe('TOO_MANY_ALIASES');
    expect(refusal(aliases(5), { maxRootFields: 5 })).toBeNull();
    expect(refusal(aliases(6), { maxRootFields: 5, maxAliases: 100 })).toBe('TOO_MANY_ROOT_FIELDS');
    const directives = (n: number) => `{ tenant { ${Array.from({ length: n }, () => 'id @include(if: true)').join(' ')} } }`;
    expect(refusal(directives(3), { maxDirectives: 3 })).toBeNull();
    expect(refusal(directives(4), { maxDirectives: 3 })).toBe('TOO_MANY_DIRECTIVES');
    // "{ tenant { id } }" is 5 tokens.
    expect(refusal('{ tenant { id } }', { maxTokens: 5 })).toBeNull();
    expect(refusal('{ tenant { id } }', { maxTokens: 4 })).toBe('TOO_MANY_TOKENS');
    const query = '{ tenant { id } }';
    expect(refusal(query, { maxDocumentBytes: query.length })).toBeNull();
    expect(refusal(query, { maxDocumentBytes: query.length - 1 })).toBe('QUERY_TOO_LARGE');
  });

  test('cost: objects 1, scalars 0, connections 2 + first x node, mutations 10', () => {
    expect(cost('{ tenant { id name } }')).toBe(1);
    expect(cost('{ garments(first: 50) { totalCount edges { cursor node { id sku } } pageInfo { hasNextPage } } }')).toBe(2 + 50 * 1);
    expect(cost('{ garments(first: 50) { edges { node { image { url } referenceCache { status } } } } }')).toBe(2 + 50 * 3);
    // first from a variable, from the variable's default, else the default page size (20).
    expect(cost('query($n: Int) { garments(first: $n) { edges { node { id } } } }', { n: 7 })).toBe(9);
    expect(cost('query($n: Int = 5) { garments(first: $n) { edges { node { id } } } }')).toBe(7);
    expect(cost('{ garments { edges { node { id } } } }')).toBe(22);
    // Nested connections multiply: outfits of garments.
    expect(cost('{ outfits(first: 10) { edges { node { garments { image { url } } } } } }')).toBe(2 + 10 * (1 + 1 + 1));
    expect(cost('mutation { archiveGarment(id: "x") { garment { id } } }')).toBe(11);
    // An interface counts its most expensive possible type.
    expect(
      cost('query($id: ID!) { node(id: $id) { id ... on Render { outfit { id } personPhoto { image { url } } } } }', { id: 'x' }),
    ).toBe(1 + 3);
    expect(cost('subscription { renderProgress(renderId: "x") { step render { id } } }')).toBe(2);
  });

  test('cost: the boundary of maxCost, with the cost in the refusal', () => {
    const q = 'query($n: Int) { garments(first: $n) { edges { node { id } } } }';
    expect(refusal(q, { maxCost: 100 }, { n: 98 })).toBeNull();
    const over = analyzeOperation(schema, { ...limits, maxCost: 100 }, { query: q, variables: { n: 99 } });
    expect(over.ok).toBe(false);
    if (!over.ok) {
      expect(over.refusals[0]!.code).toBe('QUERY_TOO_COSTLY');
      expect(over.refusals[0]!.details).toEqual({ cost: { requested: 101, maximum: 100 } });
    }
  });

  test('fragment bombs are counted in linear time and refused as too costly', () => {
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on Tenant { id }` : `fragment F${i} on Tenant { ...F${i + 1} ...F${i + 1} }`,
    ).join(' ');
    const started = Date.now();
    const q = `{ a: tenant { ...F0 } b: tenant { ...F0 } } ${fragments}`;
    expect(refusal(q, { maxTokens: 10_000 })).toBeNull(); // Tenant { id } costs nothing however often
    const bomb = `{ outfits { edges { node { ...G0 } } } } ${Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment G${i} on Outfit { shopper { id } }` : `fragment G${i} on Outfit { ...G${i + 1} ...G${i + 1} }`,
    ).join(' ')}`;
    expect(refusal(bomb, { maxTokens: 10_000 })).toBe('QUERY_TOO_COSTLY');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('fields written in a document: at the limit passes, one more is refused', () => {
    const fields = (n: number) => `{ tenant { ${Array.from({ length: n - 1 }, () => 'id').join(' ')} } }`;
    expect(refusal(fields(10), { maxFields: 10 })).toBeNull();
    expect(refusal(fields(11), { maxFields: 10 })).toBe('TOO_MANY_FIELDS');
  });

  test('a fragment cycle is counted without looping, then refused by validation', () => {
    expect(refusal('{ tenant { ...A } } fragment A on Tenant { id ...B } fragment B on Tenant { ...A }')).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  test('invalid documents and introspection', () => {
    expect(refusal('{ tenant { ')).toBe('GRAPHQL_PARSE_FAILED');
    expect(refusal('{ nope }')).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(refusal('query A { tenant { id } } query B { tenant { id } }')).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(refusal(getIntrospectionQuery())).toBeNull();
    expect(refusal(getIntrospectionQuery(), { introspection: false })).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(refusal('{ __typename }', { introspection: false })).toBeNull();
  });

  test('the analyzer remembers documents but costs each request with its variables', () => {
    const analyzer = new QueryAnalyzer(schema, { ...limits, maxCost: 50 });
    const q = 'query($n: Int) { garments(first: $n) { edges { node { id } } } }';
    const first = analyzer.analyze({ query: q, variables: { n: 10 } });
    const second = analyzer.analyze({ query: q, variables: { n: 60 } });
    expect(first.ok && first.cost).toBe(12);
    expect(second.ok).toBe(false);
  });
});
