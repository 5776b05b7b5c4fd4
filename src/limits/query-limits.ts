// Limits on what one GraphQL operation may ask, checked before it runs and before anything
// touches the database: document size, tokens, aliases, directives, root fields, depth,
// validity (graphql's specified rules, and no introspection when it is off) and cost
// (query-cost.ts). HTTP (http-guard.ts) and graphql-ws (server.ts) both call analyze(), so
// the two transports refuse the same operations with the same codes.
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { operationCost } from './query-cost';
import { BoundedMap } from '../common/bounded-map';

export interface QueryLimits {
  /** Largest query document, in bytes (UTF-8). */
  maxDocumentBytes: number;
  /** Most lexical tokens in a document (graphql's parser stops counting there). */
  maxTokens: number;
  /** Most aliased fields in a document. */
  maxAliases: number;
  /** Most directives in a document. */
  maxDirectives: number;
  /** Most field selections written in a document (graphql's validation is quadratic in repeated fields). */
  maxFields: number;
  /** Most fields at the root of the operation (fragments expanded). */
  maxRootFields: number;
  /** Deepest nesting of fields: `{ a { b } }` is 2 deep (introspection subtrees count 1). */
  maxDepth: number;
  /** Highest requested cost of one operation (query-cost.ts). */
  maxCost: number;
  /** Whether __schema and __type may be queried. */
  introspection: boolean;
}

export const DEFAULT_QUERY_LIMITS: Omit<QueryLimits, 'introspection'> = {
  maxDocumentBytes: 32 * 1024,
  maxTokens: 1000,
  maxAliases: 30,
  maxFields: 250,
  maxDirectives: 20,
  maxRootFields: 20,
  maxDepth: 10,
  maxCost: 1000,
};

export const QUERY_REFUSAL_CODES = [
  'QUERY_TOO_LARGE',
  'TOO_MANY_TOKENS',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'TOO_MANY_ALIASES',
  'TOO_MANY_FIELDS',
  'TOO_MANY_DIRECTIVES',
  'TOO_MANY_ROOT_FIELDS',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COSTLY',
] as const;
export type QueryRefusalCode = (typeof QUERY_REFUSAL_CODES)[number];

/** Why an operation was not run; the client sees `message` and `extensions` (with `code`). */
export interface QueryRefusal {
  code: QueryRefusalCode;
  message: string;
  /** Extra fields for the error's extensions (e.g. cost, limit). */
  details?: Record<string, unknown>;
  locations?: readonly { line: number; column: number }[];
}

export interface OperationRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

export type QueryAnalysis =
  { ok: true; document: DocumentNode; operation: OperationDefinitionNode; cost: number } | { ok: false; refusals: QueryRefusal[] };

/**
 * What does not depend on the variables: the parsed document (not yet validated: the cost is
 * checked first, so a costly document never reaches the slower validation), or why it is refused.
 */
type StaticAnalysis =
  | {
      ok: true;
      document: DocumentNode;
      operation: OperationDefinitionNode;
      fragments: Map<string, FragmentDefinitionNode>;
      /** Set once validated: the errors (empty when valid). */
      validation?: readonly QueryRefusal[];
    }
  | { ok: false; refusals: QueryRefusal[] };

function refuse(code: QueryRefusalCode, message: string, details?: Record<string, unknown>): StaticAnalysis {
  return { ok: false, refusals: [{ code, message, ...(details ? { details } : {}) }] };
}

function fromGraphQLError(code: QueryRefusalCode, error: GraphQLError): QueryRefusal {
  return { code, message: error.message, ...(error.locations ? { locations: error.locations } : {}) };
}

/** Deepest field nesting of a selection set; fragments expanded (memoized by name, cycles count 0). */
function depthOf(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  memo: Map<string, number>,
  visiting: Set<string>,
): number {
  let deepest = 0;
  for (const selection of set.selections) {
    let depth = 0;
    if (selection.kind === Kind.FIELD) {
      depth =
        selection.selectionSet && !selection.name.value.startsWith('__')
          ? 1 + depthOf(selection.selectionSet, fragments, memo, visiting)
          : 1;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      depth = depthOf(selection.selectionSet, fragments, memo, visiting);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (fragment && !visiting.has(name)) {
        const known = memo.get(name);
        if (known !== undefined) depth = known;
        else {
          visiting.add(name);
          depth = depthOf(fragment.selectionSet, fragments, memo, visiting);
          visiting.delete(name);
          memo.set(name, depth);
        }
      }
    }
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

/** Fields at the root of a selection set, fragments expanded (memoized by name, cycles count 0). */
function rootFieldCount(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  memo: Map<string, number>,
  visiting: Set<string>,
): number {
  let count = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) count += 1;
    else if (selection.kind === Kind.INLINE_FRAGMENT) count += rootFieldCount(selection.selectionSet, fragments, memo, visiting);
    else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || visiting.has(name)) continue;
      let known = memo.get(name);
      if (known === undefined) {
        visiting.add(name);
        known = rootFieldCount(fragment.selectionSet, fragments, memo, visiting);
        visiting.delete(name);
        memo.set(name, known);
      }
      count += known;
    }
  }
  return count;
}

function selectOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | string {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) {
    return operations.find((o) => o.name?.value === operationName) ?? `Unknown operation named "${operationName}".`;
  }
  if (operations.length === 1) return operations[0]!;
  return operations.length === 0
    ? 'The document contains no operation.'
    : 'Must provide operation name if query contains multiple operations.';
}

/** Every check that does not depend on the variables, cheapest first; validation comes later (validated()). */
export function analyzeDocument(schema: GraphQLSchema, limits: QueryLimits, source: string, operationName?: string | null): StaticAnalysis {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > limits.maxDocumentBytes) {
    return refuse('QUERY_TOO_LARGE', `the query document is ${bytes} bytes; at most ${limits.maxDocumentBytes} are allowed`, {
      limit: limits.maxDocumentBytes,
    });
  }
  let document: DocumentNode;
  try {
    // graphql counts the end of the document as a token too.
    document = parse(source, { maxTokens: limits.maxTokens + 1 });
  } catch (error) {
    if (error instanceof GraphQLError && /contains more tha[nt] \d+ tokens/.test(error.message)) {
      return refuse('TOO_MANY_TOKENS', `the query document has more than ${limits.maxTokens} tokens`, { limit: limits.maxTokens });
    }
    if (error instanceof GraphQLError) return { ok: false, refusals: [fromGraphQLError('GRAPHQL_PARSE_FAILED', error)] };
    throw error;
  }
  const operation = selectOperation(document, operationName);
  if (typeof operation === 'string') return refuse('OPERATION_RESOLUTION_FAILURE', operation);

  let aliases = 0;
  let directives = 0;
  let fields = 0;
  visit(document, {
    Field(node) {
      fields += 1;
      if (node.alias) aliases += 1;
    },
    Directive() {
      directives += 1;
    },
  });
  if (aliases > limits.maxAliases) {
    return refuse('TOO_MANY_ALIASES', `the query has ${aliases} aliases; at most ${limits.maxAliases} are allowed`, {
      limit: limits.maxAliases,
    });
  }
  if (fields > limits.maxFields) {
    return refuse('TOO_MANY_FIELDS', `the query selects ${fields} fields; at most ${limits.maxFields} are allowed`, {
      limit: limits.maxFields,
    });
  }
  if (directives > limits.maxDirectives) {
    return refuse('TOO_MANY_DIRECTIVES', `the query has ${directives} directives; at most ${limits.maxDirectives} are allowed`, {
      limit: limits.maxDirectives,
    });
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value))
      fragments.set(definition.name.value, definition);
  }
  const rootFields = rootFieldCount(operation.selectionSet, fragments, new Map(), new Set());
  if (rootFields > limits.maxRootFields) {
    return refuse('TOO_MANY_ROOT_FIELDS', `the operation selects ${rootFields} root fields; at most ${limits.maxRootFields} are allowed`, {
      limit: limits.maxRootFields,
    });
  }
  const depth = depthOf(operation.selectionSet, fragments, new Map(), new Set());
  if (depth > limits.maxDepth) {
    return refuse('QUERY_TOO_DEEP', `the query is ${depth} levels deep; at most ${limits.maxDepth} are allowed`, {
      depth,
      limit: limits.maxDepth,
    });
  }
  return { ok: true, document, operation, fragments };
}

/** graphql's specified rules (and no introspection when it is off); remembered on the analysis. */
function validated(schema: GraphQLSchema, limits: QueryLimits, analysis: Extract<StaticAnalysis, { ok: true }>): readonly QueryRefusal[] {
  if (!analysis.validation) {
    const rules = limits.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
    analysis.validation = validate(schema, analysis.document, rules, { maxErrors: 20 }).map((e) =>
      fromGraphQLError('GRAPHQL_VALIDATION_FAILED', e),
    );
  }
  return analysis.validation;
}

/** The whole analysis of one operation: the static checks, then its cost with these variables. */
export function analyzeOperation(schema: GraphQLSchema, limits: QueryLimits, request: OperationRequest): QueryAnalysis {
  return withCost(schema, limits, analyzeDocument(schema, limits, request.query, request.operationName), request.variables);
}

/** The cost with these variables (unknown fields cost nothing), then validation. */
function withCost(
  schema: GraphQLSchema,
  limits: QueryLimits,
  analysis: StaticAnalysis,
  variables: OperationRequest['variables'],
): QueryAnalysis {
  if (!analysis.ok) return analysis;
  const { document, operation, fragments } = analysis;
  const cost = operationCost({ schema, operation, fragments, variables: variables ?? {} });
  if (cost > limits.maxCost) {
    return {
      ok: false,
      refusals: [
        {
          code: 'QUERY_TOO_COSTLY',
          message: `the query's cost is ${cost}; at most ${limits.maxCost} is allowed (ask for smaller pages)`,
          details: { cost: { requested: cost, maximum: limits.maxCost } },
        },
      ],
    };
  }
  const errors = validated(schema, limits, analysis);
  if (errors.length > 0) return { ok: false, refusals: [...errors] };
  return { ok: true, document, operation, cost };
}

/** Most documents whose static analysis is remembered, and the largest one remembered. */
const CACHE_ENTRIES = 500;

/**
 * analyzeOperation with the static part remembered per (document, operation name), so a client
 * repeating a query (or an attack) pays parsing and validation once. Bounded: oldest first out.
 */
export class QueryAnalyzer {
  private readonly cache = new BoundedMap<string, StaticAnalysis>(CACHE_ENTRIES);

  constructor(
    private readonly schema: GraphQLSchema,
    readonly limits: QueryLimits,
  ) {}

  analyze(request: OperationRequest): QueryAnalysis {
    const key = `${request.operationName ?? ''}\n${request.query}`;
    let analysis = this.cache.get(key);
    if (!analysis) {
      analysis = analyzeDocument(this.schema, this.limits, request.query, request.operationName);
      // Larger documents are refused by their size alone, at no cost: not remembered.
      if (request.query.length <= this.limits.maxDocumentBytes) {
        this.cache.set(key, analysis);
      }
    }
    return withCost(this.schema, this.limits, analysis, request.variables);
  }

  /** The cost of an operation Apollo already parsed and validated (for extensions.cost). */
  costOf(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): number {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value))
        fragments.set(definition.name.value, definition);
    }
    return operationCost({ schema: this.schema, operation, fragments, variables: variables ?? {} });
  }
}

/** A refusal as the GraphQL error clients receive. */
export function refusalError(refusal: QueryRefusal): GraphQLError {
  return new GraphQLError(refusal.message, { extensions: { code: refusal.code, ...refusal.details } });
}

/** A refusal in GraphQL's JSON error shape (HTTP answers). */
export function refusalJson(refusal: QueryRefusal): {
  message: string;
  locations?: readonly { line: number; column: number }[];
  extensions: Record<string, unknown>;
} {
  return {
    message: refusal.message,
    ...(refusal.locations ? { locations: refusal.locations } : {}),
    extensions: { code: refusal.code, ...refusal.details },
  };
}
