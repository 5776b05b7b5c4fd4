import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type OperationDefinitionNode } from 'graphql';
import { selects } from '../../src/graphql/kit/selection';

/** The resolve info of the operation's first root field (only the parts selects reads). */
function infoOf(source: string): GraphQLResolveInfo {
  const document = parse(source);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return { fieldNodes: [operation.selectionSet.selections[0] as FieldNode], fragments } as unknown as GraphQLResolveInfo;
}

describe('selects', () => {
  const cache = ['edges', 'node', 'referenceCache'];

  test('a nested field, directly', () => {
    expect(selects(infoOf('{ garments { edges { node { referenceCache { status } } } } }'), cache)).toBe(true);
    expect(selects(infoOf('{ garments { edges { node { id } } totalCount } }'), cache)).toBe(false);
    expect(selects(infoOf('{ garments { edges { node { id } } totalCount } }'), ['totalCount'])).toBe(true);
  });

  test('through named and inline fragments', () => {
    expect(
      selects(
        infoOf(
          '{ garments { ...page } } fragment page on GarmentConnection { edges { node { ...g } } } fragment g on Garment { referenceCache { status } }',
        ),
        cache,
      ),
    ).toBe(true);
    expect(selects(infoOf('{ garments { edges { ... on GarmentEdge { node { ... { referenceCache { bytes } } } } } } }'), cache)).toBe(
      true,
    );
    expect(selects(infoOf('{ garments { ...page } } fragment page on GarmentConnection { edges { node { id } } }'), cache)).toBe(false);
  });

  test('a field of the same name at another depth does not count', () => {
    expect(selects(infoOf('{ garments { edges { referenceCache: cursor } } }'), cache)).toBe(false);
    expect(selects(infoOf('{ garments { totalCount: pageInfo { hasNextPage } } }'), ['totalCount'])).toBe(false);
  });
});
