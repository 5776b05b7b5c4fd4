// Opaque global IDs: base64url("<Type>:<uuid>"). A malformed ID, an ID of another type
// and an ID of another tenant all behave like an ID that does not exist.
import type { NodeResolvers } from '../generated/graphql';

/** The GraphQL types that implement Node, read from the generated types: schema.graphql is their one list. */
export type NodeType = NonNullable<Awaited<ReturnType<NodeResolvers['__resolveType']>>>;

/** What a global ID names: a Node type, or a staged upload (opaque like the others, but no Node). */
export type GlobalIdType = NodeType | 'Upload';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function toGlobalId(type: GlobalIdType, uuid: string): string {
  return Buffer.from(`${type}:${uuid}`).toString('base64url');
}

/**
 * The type name and uuid of a well-formed ID. The type name is not checked against a list here:
 * fromGlobalId compares it with the type expected, node(id:) looks it up among the registered
 * Node types (graphql/kit/nodes.ts), so an unknown name behaves like any other missing ID.
 */
export function parseGlobalId(id: string): { type: string; uuid: string } | null {
  if (typeof id !== 'string' || id.length > 100 || !/^[A-Za-z0-9_-]+$/.test(id)) return null;
  const text = Buffer.from(id, 'base64url').toString('utf8');
  const sep = text.indexOf(':');
  const type = text.slice(0, sep);
  const uuid = text.slice(sep + 1);
  if (sep < 0 || !/^[A-Z][A-Za-z]*$/.test(type) || !UUID.test(uuid)) return null;
  return { type, uuid };
}

/** The uuid of `id` when it is an ID of `type`, else null. */
export function fromGlobalId(id: string, type: GlobalIdType): string | null {
  const parsed = parseGlobalId(id);
  return parsed && parsed.type === type ? parsed.uuid : null;
}

/** Rows in the order of `ids`, null where a row is missing (the shape DataLoader batch functions return). */
export function alignToIds<T extends { id: string }>(ids: readonly string[], rows: readonly T[]): (T | null)[];
export function alignToIds<T>(ids: readonly string[], rows: readonly T[], keyOf: (row: T) => string): (T | null)[];
export function alignToIds<T>(
  ids: readonly string[],
  rows: readonly T[],
  keyOf: (row: T) => string = (row) => (row as { id: string }).id,
): (T | null)[] {
  const byKey = new Map(rows.map((row) => [keyOf(row), row]));
  return ids.map((id) => byKey.get(id) ?? null);
}

/** An optional ID argument: undefined when not given, null when given but not an ID of `type`. */
export function optionalGlobalId(id: string | null | undefined, type: GlobalIdType): string | null | undefined {
  return id === undefined || id === null ? undefined : fromGlobalId(id, type);
}
