// Whether an operation asks for a field below the one being resolved, so a resolver can fetch
// related rows in the same database transaction only when they are wanted.
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * True when `path` (field names, e.g. ['edges', 'node', 'referenceCache']) is selected under
 * the current field, through fragments and inline fragments. @skip/@include are not evaluated:
 * a conditionally selected field counts as selected, which costs at most an unused fetch.
 */
export function selects(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  const matches = (sets: readonly SelectionSetNode[], depth: number): boolean => {
    if (depth === path.length) return true;
    const next: SelectionSetNode[] = [];
    const collect = (set: SelectionSetNode): void => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value === path[depth] && selection.selectionSet) next.push(selection.selectionSet);
          else if (selection.name.value === path[depth] && depth === path.length - 1)
            next.push({ kind: Kind.SELECTION_SET, selections: [] });
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          collect(selection.selectionSet);
        } else {
          const fragment = info.fragments[selection.name.value];
          if (fragment) collect(fragment.selectionSet);
        }
      }
    };
    sets.forEach(collect);
    return next.length > 0 && matches(next, depth + 1);
  };
  return matches(
    info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : [])),
    0,
  );
}
