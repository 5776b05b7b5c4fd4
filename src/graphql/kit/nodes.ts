// Node types register themselves here, from their own domain: node(id:) finds an object through
// its type's registration. A new Node type's files: its SDL in schema.graphql, its domain type in
// src/<domain>/<domain>-types.ts (mapped in codegen.ts "mappers"), its resolvers and its
// NodeRegistration in src/<domain>/<domain>-resolvers.ts; a new domain is also listed once in
// src/graphql/resolvers.ts. Nothing else changes (IDs take their type names from the schema).
import type { NodeType } from '../../common/ids';
import type { ResolversParentTypes } from '../../generated/graphql';
import type { GraphQLContext } from './context';

/** How node(id:) loads one Node type: by uuid, as the viewer may see it (null: missing, hidden or another tenant's). */
export type NodeRegistration = {
  [T in NodeType]: {
    /** The GraphQL type name, which is also the type part of its global IDs. */
    type: T;
    load(uuid: string, context: GraphQLContext): Promise<ResolversParentTypes[T] | null>;
  };
}[NodeType];

/** The registrations by type name; a type registered twice is a programming error. */
export function nodeRegistry(registrations: readonly NodeRegistration[]): ReadonlyMap<string, NodeRegistration> {
  const registry = new Map<string, NodeRegistration>();
  for (const registration of registrations) {
    if (registry.has(registration.type)) throw new Error(`Node type ${registration.type} is registered twice`);
    registry.set(registration.type, registration);
  }
  return registry;
}
