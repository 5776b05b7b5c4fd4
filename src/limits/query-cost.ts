// The cost of an operation, in the style of Shopify's "requested query cost": what the
// operation may ask of the database at most, known before it runs.
//   - a field returning a scalar or an enum costs 0;
//   - a field returning an object (or interface or union) costs 1 plus its selection;
//   - a connection (a field with a `first` argument returning a `...Connection` type) costs 2
//     plus `first` times the cost of one node (its `edges` wrapper and `pageInfo` are free);
//     `first` is the literal, else the variable, else the variable's default, else the default
//     page size (20);
//   - a mutation's root field costs 10 plus its selection;
//   - on an interface or union, the most expensive possible type counts;
//   - a field selected twice (e.g. through two fragments) counts twice;
//   - introspection (`__schema`, `__type`, `__typename`) costs 0.
// It runs before validation (it is the cheaper check): unknown fields and types cost nothing,
// a fragment cycle counts 0 where it closes; costs of selection sets are memoized, so nested
// fragment spreads cost linear time.
import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';

export const MUTATION_COST = 10;
export const CONNECTION_COST = 2;

export interface CostInput {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  /** The request's variables (missing ones take the operation's defaults). */
  variables: Readonly<Record<string, unknown>>;
}

/** How a selection set is counted: on a mutation root, a plain object, a connection, an edge. */
type Role = 'mutation' | 'object' | 'connection' | 'edge';

function isConnection(field: GraphQLField<unknown, unknown>): boolean {
  return field.args.some((arg) => arg.name === 'first') && getNamedType(field.type).name.endsWith('Connection');
}

class CostCounter {
  private readonly memo = new Map<SelectionSetNode, Map<string, number>>();
  /** Fragments being counted, to stop at a cycle (invalid documents are counted before validation). */
  private readonly visiting = new Set<string>();
  private readonly defaults: Record<string, unknown> = {};

  constructor(private readonly input: CostInput) {
    for (const definition of input.operation.variableDefinitions ?? []) {
      if (definition.defaultValue) this.defaults[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
    }
  }

  /** Page size a connection field asks for: at least 0; not a number: the default page size. */
  private pageSize(node: FieldNode): number {
    const arg = node.arguments?.find((a) => a.name.value === 'first');
    let value: unknown;
    if (arg?.value.kind === Kind.VARIABLE) {
      const name = arg.value.name.value;
      value = Object.hasOwn(this.input.variables, name) ? this.input.variables[name] : this.defaults[name];
    } else if (arg) {
      value = valueFromASTUntyped(arg.value);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) return DEFAULT_PAGE_SIZE;
    return Math.max(0, Math.floor(value));
  }

  private matches(condition: string | undefined, type: GraphQLObjectType): boolean {
    if (condition === undefined || condition === type.name) return true;
    const conditionType = this.input.schema.getType(condition);
    return conditionType !== undefined && isAbstractType(conditionType) && this.input.schema.isSubType(conditionType, type);
  }

  /** Cost of a selection set on `parent`: the most expensive of its possible concrete types. */
  selection(set: SelectionSetNode, parent: GraphQLCompositeType, role: Role): number {
    const types = isAbstractType(parent) ? this.input.schema.getPossibleTypes(parent) : [parent as GraphQLObjectType];
    let worst = 0;
    for (const type of types) worst = Math.max(worst, this.on(set, type, role));
    return worst;
  }

  private on(set: SelectionSetNode, type: GraphQLObjectType, role: Role): number {
    const key = `${type.name}:${role}`;
    let byType = this.memo.get(set);
    const known = byType?.get(key);
    if (known !== undefined) return known;
    let sum = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) sum += this.field(selection, type, role);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (this.matches(selection.typeCondition?.name.value, type)) sum += this.on(selection.selectionSet, type, role);
      } else {
        const name = selection.name.value;
        const fragment = this.input.fragments.get(name);
        if (fragment && !this.visiting.has(name) && this.matches(fragment.typeCondition.name.value, type)) {
          this.visiting.add(name);
          sum += this.on(fragment.selectionSet, type, role);
          this.visiting.delete(name);
        }
      }
    }
    if (!byType) this.memo.set(set, (byType = new Map()));
    byType.set(key, sum);
    return sum;
  }

  private field(node: FieldNode, parent: GraphQLObjectType, role: Role): number {
    if (node.name.value.startsWith('__') || !node.selectionSet) return 0;
    const field = parent.getFields()[node.name.value];
    if (!field) return 0;
    const named = getNamedType(field.type);
    if (!isCompositeType(named)) return 0;
    switch (role) {
      case 'connection':
        // Inside a connection, per node: edges { node } and nodes count; pageInfo is part of the connection's 2.
        if (node.name.value === 'edges' && isObjectType(named)) return this.selection(node.selectionSet, named, 'edge');
        if (node.name.value === 'nodes') return 1 + this.selection(node.selectionSet, named, 'object');
        return 0;
      case 'edge':
        return 1 + this.selection(node.selectionSet, named, 'object');
      case 'mutation':
      case 'object':
        if (isConnection(field)) return CONNECTION_COST + this.pageSize(node) * this.selection(node.selectionSet, named, 'connection');
        return (role === 'mutation' ? MUTATION_COST : 1) + this.selection(node.selectionSet, named, 'object');
    }
  }
}

/** The requested cost of the operation with these variables. */
export function operationCost(input: CostInput): number {
  const { schema, operation } = input;
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return 0;
  return new CostCounter(input).selection(operation.selectionSet, root, operation.operation === 'mutation' ? 'mutation' : 'object');
}
