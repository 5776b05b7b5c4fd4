// The `operation` label of the GraphQL metrics. Operation names come from clients, so they are
// bounded: the web app's own operations always keep their names; other names are kept as they
// are first seen, up to MAX_OPERATION_LABELS of them, and only when they look like a GraphQL
// name of at most 64 characters and come from an authenticated caller (an API key, a shopper
// session, the operator). Everything else is counted as `other`; an unnamed operation is
// `anonymous`. So a client can add at most MAX_OPERATION_LABELS series, never unbounded text.

/** Names kept besides the web app's (first seen, first kept); then `other`. */
export const MAX_OPERATION_LABELS = 100;

/** The label of whatever is not kept. */
export const OTHER_OPERATION = 'other';

/** The web app's operations (web/src/api/operations.ts; a unit test keeps the two in step). */
export const WEB_APP_OPERATIONS: readonly string[] = [
  'ShopperHome',
  'ShopperGarments',
  'PastRenders',
  'RecentRenders',
  'UploadPersonPhoto',
  'RequestRender',
  'CancelRender',
  'RenderProgress',
  'Catalog',
  'CreateGarment',
  'ArchiveGarment',
  'RetryReferenceCache',
  'CreateOutfit',
  'ReferenceCacheChanged',
];

const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

export class OperationLabels {
  private readonly known = new Set(WEB_APP_OPERATIONS);
  private readonly seen = new Set<string>();

  constructor(private readonly maxSeen = MAX_OPERATION_LABELS) {}

  /** The label for an operation of that name; `authenticated`: whether its caller presented a valid token. */
  label(name: string | null | undefined, authenticated: boolean): string {
    if (name === null || name === undefined || name === '') return 'anonymous';
    if (this.known.has(name) || this.seen.has(name)) return name;
    if (!authenticated || this.seen.size >= this.maxSeen || !NAME.test(name)) return OTHER_OPERATION;
    this.seen.add(name);
    return name;
  }
}
