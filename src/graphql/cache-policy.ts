// The cache policy of an operation (may its answer be shared, and for how long), computed from
// its document and the schema's @cacheControl hints once per parsed document. Apollo's
// cache-control plugin computes the same from the same hints with the same rules, but in a hook
// on every resolved field (about 450 for a catalog page of 50, with a wrapper, a policy object
// and two cache look-ups each): about 8 % of an uncached page's CPU. No resolver sets a dynamic
// hint, so the document says everything.
//
// It is never looser than Apollo's: every field of the document counts (also a field under
// @skip, a null or an empty list, which Apollo would not visit), and a field whose parent or
// return type is an interface or a union (whose hints would depend on the object met at run
// time) makes the operation not shareable.
import {
  getNamedType,
  isCompositeType,
  isObjectType,
  Kind,
  type ConstDirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export type CacheScope = 'PUBLIC' | 'PRIVATE';

/** What a shareable answer may be kept for; null: not shareable. */
export interface SharedPolicy {
  maxAge: number;
  scope: CacheScope;
}

interface Hint {
  maxAge?: number;
  scope?: CacheScope;
  inheritMaxAge?: boolean;
}

/** Apollo's reading of a @cacheControl directive (cacheAnnotationFromDirectives). */
function hintOf(directives: readonly ConstDirectiveNode[] | undefined): Hint | undefined {
  const directive = directives?.find((d) => d.name.value === 'cacheControl');
  if (!directive?.arguments) return undefined;
  const argument = (name: string) => directive.arguments?.find((a) => a.name.value === name)?.value;
  const scopeValue = argument('scope');
  const scopeName = scopeValue?.kind === Kind.ENUM ? scopeValue.value : undefined;
  const scope = scopeName === 'PUBLIC' || scopeName === 'PRIVATE' ? scopeName : undefined;
  const inherit = argument('inheritMaxAge');
  if (inherit?.kind === Kind.BOOLEAN && inherit.value) return { inheritMaxAge: true, ...(scope ? { scope } : {}) };
  const maxAge = argument('maxAge');
  return { ...(maxAge?.kind === Kind.INT ? { maxAge: parseInt(maxAge.value, 10) } : {}), ...(scope ? { scope } : {}) };
}

function typeHint(type: GraphQLNamedType): Hint {
  return (
    hintOf(type.astNode?.directives) ??
    type.extensionASTNodes.map((node) => hintOf(node.directives)).find((hint) => hint !== undefined) ??
    {}
  );
}

function fieldHint(field: GraphQLField<unknown, unknown>): Hint {
  return hintOf(field.astNode?.directives) ?? {};
}

/** Apollo's CachePolicy arithmetic: replace overwrites what a hint sets, restrict only tightens. */
class Policy {
  maxAge: number | undefined;
  scope: CacheScope | undefined;
  replace(hint: Hint): void {
    if (hint.maxAge !== undefined) this.maxAge = hint.maxAge;
    if (hint.scope !== undefined) this.scope = hint.scope;
  }
  restrict(hint: { maxAge?: number | undefined; scope?: CacheScope | undefined }): void {
    if (hint.maxAge !== undefined && (this.maxAge === undefined || hint.maxAge < this.maxAge)) this.maxAge = hint.maxAge;
    if (hint.scope !== undefined && this.scope !== 'PRIVATE') this.scope = hint.scope;
  }
}

class NotShareable extends Error {}

function computePolicy(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): SharedPolicy | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const overall = new Policy();
  const visit = (parent: GraphQLObjectType, set: SelectionSetNode, root: boolean, spreads: ReadonlySet<string>): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(parent, selection.selectionSet, root, spreads);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || spreads.has(name)) throw new NotShareable();
        visit(parent, fragment.selectionSet, root, new Set([...spreads, name]));
      } else {
        // __typename and introspection: no resolver of the schema, no hint (as in Apollo).
        if (selection.name.value.startsWith('__')) continue;
        const field = parent.getFields()[selection.name.value];
        if (!field) throw new NotShareable();
        const target = getNamedType(field.type);
        const composite = isCompositeType(target);
        if (composite && !isObjectType(target)) throw new NotShareable();
        // Apollo's willResolveField, then its end-of-field step.
        const policy = new Policy();
        let inheritMaxAge = false;
        if (composite) {
          const hint = typeHint(target);
          policy.replace(hint);
          inheritMaxAge = hint.inheritMaxAge === true;
        }
        const own = fieldHint(field);
        if (own.inheritMaxAge && policy.maxAge === undefined) {
          inheritMaxAge = true;
          if (own.scope) policy.replace({ scope: own.scope });
        } else {
          policy.replace(own);
        }
        if (policy.maxAge === undefined && ((composite && !inheritMaxAge) || root)) policy.restrict({ maxAge: 0 });
        overall.restrict(policy);
        if (isObjectType(target) && selection.selectionSet) visit(target, selection.selectionSet, false, spreads);
      }
    }
  };
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return null;
  try {
    visit(rootType, operation.selectionSet, true, new Set());
  } catch (error) {
    if (error instanceof NotShareable) return null;
    throw error;
  }
  return overall.maxAge === undefined || overall.maxAge === 0 ? null : { maxAge: overall.maxAge, scope: overall.scope ?? 'PUBLIC' };
}

/** Policies per parsed document (Apollo keeps one DocumentNode per query text) and operation. */
export class CachePolicies {
  private readonly byDocument = new WeakMap<DocumentNode, Map<string, SharedPolicy | null>>();

  constructor(private readonly schema: GraphQLSchema) {}

  /** The policy of `operation` (validated) in `document`: null when its answer may not be shared. */
  policyOf(document: DocumentNode, operation: OperationDefinitionNode): SharedPolicy | null {
    let policies = this.byDocument.get(document);
    if (!policies) this.byDocument.set(document, (policies = new Map()));
    const key = operation.name?.value ?? '';
    let policy = policies.get(key);
    if (policy === undefined) {
      policy = computePolicy(this.schema, document, operation);
      policies.set(key, policy);
    }
    return policy;
  }
}
