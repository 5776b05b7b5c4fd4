// Relay cursor connections over (createdAt, id), newest first. Cursors are opaque.
import { GraphQLError } from 'graphql';

export interface PageRequest {
  first: number;
  after: { createdAt: Date; id: string } | null;
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
  totalCount: number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const CURSOR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The codes of unusable page arguments (GraphQL errors): a closed set, mapped in src/http/error-codes.ts. */
export const PAGINATION_ERROR_CODES = ['BAD_USER_INPUT', 'INVALID_CURSOR'] as const;
export type PaginationErrorCode = (typeof PAGINATION_ERROR_CODES)[number];

function badInput(message: string, code: PaginationErrorCode): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

/** Validates first/after; throws a GraphQL error (BAD_USER_INPUT / INVALID_CURSOR) when they are unusable. */
export function parsePageArgs(first: number | null | undefined, after: string | null | undefined): PageRequest {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 0 and ${MAX_PAGE_SIZE}`, 'BAD_USER_INPUT');
  }
  if (after === null || after === undefined) return { first: size, after: null };
  try {
    const parsed: unknown = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
    // Only what encodeCursor writes: a canonical ISO instant of years 0001-9999 (what a
    // PostgreSQL timestamp column holds) and a uuid. Anything else would reach the database
    // as a value it refuses, or page from a point no row can have.
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      CURSOR_INSTANT.test(parsed[0]) &&
      UUID.test(parsed[1])
    ) {
      const createdAt = new Date(parsed[0]);
      if (!Number.isNaN(createdAt.getTime()) && createdAt.toISOString() === parsed[0])
        return { first: size, after: { createdAt, id: parsed[1] } };
    }
  } catch {
    // fall through
  }
  throw badInput('after is not a cursor returned by this connection', 'INVALID_CURSOR');
}

/** Prisma where/orderBy/take for a page of rows ordered newest first. */
export function keysetQuery(page: PageRequest) {
  return {
    where: page.after
      ? {
          OR: [{ createdAt: { lt: page.after.createdAt } }, { createdAt: page.after.createdAt, id: { lt: page.after.id } }],
        }
      : {},
    orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }],
    take: page.first + 1,
  };
}

/** Splits the extra row fetched by keysetQuery into hasNextPage. */
export function toPage<T>(rows: T[], page: PageRequest, totalCount: number): Page<T> {
  return { items: rows.slice(0, page.first), hasNextPage: rows.length > page.first, totalCount };
}

export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

/** An edge whose cursor is encoded only when it is read (most pages ask for none or the last). */
class Edge<T extends { createdAt: Date; id: string }> {
  constructor(readonly node: T) {}
  get cursor(): string {
    return encodeCursor(this.node);
  }
}

export function toConnection<T extends { createdAt: Date; id: string }>(page: Page<T>, request: PageRequest): Connection<T> {
  const edges = page.items.map((node) => new Edge(node));
  const first = page.items[0];
  const last = page.items[page.items.length - 1];
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: request.after !== null,
      startCursor: first ? encodeCursor(first) : null,
      endCursor: last ? encodeCursor(last) : null,
    },
    totalCount: page.totalCount,
  };
}
