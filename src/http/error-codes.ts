// Every error code the API answers, and the one mapping of each to what clients see: where
// GraphQL carries it and the HTTP status it is answered with. Each domain keeps its codes as a
// closed set beside its service; the switches below are exhaustive, so a code added there
// without a line here fails the type check. Codes go out unchanged: they are part of the API.
import type { RenderError, UserError } from '../generated/graphql';
import { AUTH_ERROR_CODES, type AuthErrorCode } from '../auth/viewer';
import { PAGINATION_ERROR_CODES, type PaginationErrorCode } from '../common/pagination';
import { TEXT_ERROR_CODES, type TextErrorCode } from '../common/text';
import { IMAGE_ERROR_CODES, type ImageErrorCode } from '../images';
import { QUERY_REFUSAL_CODES, type QueryRefusalCode } from '../limits';
import { FILE_ERROR_STATUS, type FileErrorCode } from '../blobs';
import { QUOTA_ERROR_CODES, type QuotaErrorCode } from '../common/quotas';
import { TENANT_ERROR_CODES, type TenantErrorCode } from '../tenants/tenant-errors';
import { SHOPPER_ERROR_CODES, type ShopperErrorCode } from '../shoppers/shopper-errors';
import { GARMENT_ERROR_CODES, type GarmentErrorCode } from '../garments/garment-errors';
import { PHOTO_ERROR_CODES, type PhotoErrorCode } from '../photos/photo-errors';
import { OUTFIT_ERROR_CODES, type OutfitErrorCode } from '../outfits/outfit-errors';
import { RENDER_ERROR_CODES, RENDER_FAILURE_CODES, type RenderErrorCode, type RenderFailureCode } from '../renders/render-errors';
import { WEBHOOK_ERROR_CODES, type WebhookErrorCode } from '../webhooks/webhook-errors';
import { UPLOAD_ERROR_CODES, UPLOAD_PUT_ERROR_CODES, type UploadErrorCode, type UploadPutErrorCode } from '../uploads/upload-errors';
import { DEMO_SESSION_ERROR_CODES, type DemoSessionErrorCode } from '../demo/demo-sessions';

/** Expected refusals of mutations: a payload's `userErrors` (schema type UserError). */
export type UserErrorCode =
  | TextErrorCode
  | QuotaErrorCode
  | ImageErrorCode
  | TenantErrorCode
  | ShopperErrorCode
  | GarmentErrorCode
  | PhotoErrorCode
  | OutfitErrorCode
  | RenderErrorCode
  | WebhookErrorCode
  | UploadErrorCode;

/** Refusals of the GraphQL transport itself (src/graphql/). */
export const GRAPHQL_REQUEST_ERROR_CODES = [
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'TOO_MANY_SUBSCRIPTIONS',
] as const;
export type GraphQLRequestErrorCode = (typeof GRAPHQL_REQUEST_ERROR_CODES)[number];

/** Refusals that are GraphQL errors with `extensions.code`: their message is meant for the client. */
export type GraphQLErrorCode = AuthErrorCode | PaginationErrorCode | QueryRefusalCode | GraphQLRequestErrorCode;

/** Refusals of the plain HTTP routes (src/http/) and of /graphql before GraphQL runs. */
export const HTTP_ROUTE_ERROR_CODES = [
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'UNAUTHENTICATED',
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
] as const;
export type HttpRouteErrorCode = (typeof HTTP_ROUTE_ERROR_CODES)[number];

/** Codes answered as `{ "error": { "code", "message" } }` by a plain HTTP route. */
export type HttpErrorCode = HttpRouteErrorCode | UploadPutErrorCode | FileErrorCode | DemoSessionErrorCode;

/** Every GraphQL error code, from each domain's list. */
export const GRAPHQL_ERROR_CODES: readonly GraphQLErrorCode[] = [
  ...AUTH_ERROR_CODES,
  ...PAGINATION_ERROR_CODES,
  ...QUERY_REFUSAL_CODES,
  ...GRAPHQL_REQUEST_ERROR_CODES,
];

/** Every userError code, from each domain's list (a code several domains use appears once). */
export const USER_ERROR_CODES: readonly UserErrorCode[] = [
  ...new Set<UserErrorCode>([
    ...TEXT_ERROR_CODES,
    ...QUOTA_ERROR_CODES,
    ...IMAGE_ERROR_CODES,
    ...TENANT_ERROR_CODES,
    ...SHOPPER_ERROR_CODES,
    ...GARMENT_ERROR_CODES,
    ...PHOTO_ERROR_CODES,
    ...OUTFIT_ERROR_CODES,
    ...RENDER_ERROR_CODES,
    ...WEBHOOK_ERROR_CODES,
    ...UPLOAD_ERROR_CODES,
  ]),
];

/** Every code of a plain HTTP route. */
export const HTTP_ERROR_CODES: readonly HttpErrorCode[] = [
  ...new Set<HttpErrorCode>([
    ...HTTP_ROUTE_ERROR_CODES,
    ...UPLOAD_PUT_ERROR_CODES,
    ...(Object.keys(FILE_ERROR_STATUS) as FileErrorCode[]),
    ...DEMO_SESSION_ERROR_CODES,
  ]),
];

/** A code with the surface that answers it (one code, such as NOT_FOUND, may be answered by several). */
export type ApiError =
  | { via: 'userError'; code: UserErrorCode }
  | { via: 'graphqlError'; code: GraphQLErrorCode }
  | { via: 'renderError'; code: RenderFailureCode }
  | { via: 'http'; code: HttpErrorCode };

/** What a client sees of a code. */
export interface ErrorAnswer {
  /** The code as it goes out (unchanged: codes are part of the API). */
  code: UserError['code'];
  /**
   * Where GraphQL carries it: `userError` (a payload's userErrors), `extensions` (a GraphQL
   * error's extensions.code, its message kept by maskError), `renderError` (Render.error) or
   * null (plain HTTP routes only).
   */
  graphql: 'userError' | 'extensions' | 'renderError' | null;
  /** The status of an HTTP answer refused with it; null: it travels inside a 200 answer (or over WebSocket). */
  httpStatus: number | null;
}

/** Every code the API answers, with its surface (for checks that each is mapped, and lists of codes). */
export const API_ERRORS: readonly ApiError[] = [
  ...USER_ERROR_CODES.map((code) => ({ via: 'userError', code }) as const),
  ...GRAPHQL_ERROR_CODES.map((code) => ({ via: 'graphqlError', code }) as const),
  ...RENDER_FAILURE_CODES.map((code) => ({ via: 'renderError', code }) as const),
  ...HTTP_ERROR_CODES.map((code) => ({ via: 'http', code }) as const),
];

/** The one mapping of every code the API answers. */
export function errorAnswer(error: ApiError): ErrorAnswer {
  switch (error.via) {
    case 'userError':
      return { code: userErrorCode(error.code), graphql: 'userError', httpStatus: null };
    case 'graphqlError':
      return { code: error.code, graphql: 'extensions', httpStatus: graphqlErrorStatus(error.code) };
    case 'renderError':
      return { code: renderErrorCode(error.code), graphql: 'renderError', httpStatus: null };
    case 'http':
      return { code: error.code, graphql: null, httpStatus: httpErrorStatus(error.code) };
    default: {
      const _exhaustive: never = error;
      return _exhaustive;
    }
  }
}

/** The status of an HTTP route's refusal. */
export function httpErrorStatus(code: HttpErrorCode): number {
  switch (code) {
    case 'BAD_REQUEST':
    case 'INVALID_VISITOR':
    case 'UPLOAD_INCOMPLETE':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'DEMO_LOOPBACK_ONLY':
    case 'LINK_INVALID':
    case 'LINK_EXPIRED':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'REQUEST_TIMEOUT':
      return 408;
    case 'UPLOAD_ALREADY_RECEIVED':
      return 409;
    case 'LENGTH_REQUIRED':
      return 411;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'DEMO_VISITOR_LIMIT':
      return 429;
    case 'HEADERS_TOO_LARGE':
      return 431;
    case 'INTERNAL_SERVER_ERROR':
      return 500;
    case 'SERVICE_UNAVAILABLE':
    case 'DEMO_UNAVAILABLE':
      return 503;
    default: {
      const _exhaustive: never = code;
      return _exhaustive;
    }
  }
}

/**
 * The status when this error refuses a request before GraphQL runs; null: raised while resolving or over WebSocket (inside a 200 answer).
 */
export function graphqlErrorStatus(code: GraphQLErrorCode): number | null {
  switch (code) {
    case 'BAD_REQUEST':
    case 'BAD_USER_INPUT':
    case 'BATCH_TOO_LARGE':
    case 'QUERY_TOO_LARGE':
    case 'TOO_MANY_TOKENS':
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'OPERATION_RESOLUTION_FAILURE':
    case 'TOO_MANY_ALIASES':
    case 'TOO_MANY_FIELDS':
    case 'TOO_MANY_DIRECTIVES':
    case 'TOO_MANY_ROOT_FIELDS':
    case 'QUERY_TOO_DEEP':
    case 'QUERY_TOO_COSTLY':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'RATE_LIMITED':
      return 429;
    // Raised while resolving (a page argument), or over WebSocket, or answered 200 by Apollo.
    case 'INVALID_CURSOR':
    case 'TOO_MANY_SUBSCRIPTIONS':
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_SUPPORTED':
      return null;
    default: {
      const _exhaustive: never = code;
      return _exhaustive;
    }
  }
}

/** A userError's code as the schema's UserError.code carries it. */
function userErrorCode(code: UserErrorCode): UserError['code'] {
  switch (code) {
    // Text fields, quotas and images (src/common/text.ts, src/common/quotas.ts, src/images/).
    case 'SKU_REQUIRED':
    case 'SKU_TOO_LONG':
    case 'NAME_REQUIRED':
    case 'NAME_TOO_LONG':
    case 'EXTERNAL_ID_REQUIRED':
    case 'EXTERNAL_ID_TOO_LONG':
    case 'INVALID_CHARACTERS':
    case 'STORAGE_QUOTA_EXCEEDED':
    case 'PHOTO_QUOTA_EXCEEDED':
    case 'INVALID_DATA_URL':
    case 'NOT_AN_IMAGE':
    case 'IMAGE_TRUNCATED':
    case 'UNSUPPORTED_IMAGE_FORMAT':
    case 'IMAGE_TOO_LARGE':
    case 'IMAGE_TOO_MANY_PIXELS':
    case 'IMAGE_TOO_SMALL':
    // The domains' own.
    case 'NOT_FOUND':
    case 'OUT_OF_RANGE':
    case 'SCOPES_REQUIRED':
    case 'INVALID_SCOPE':
    case 'EXTERNAL_ID_TAKEN':
    case 'SKU_TAKEN':
    case 'CACHE_NOT_FAILED':
    case 'OUTFIT_EMPTY':
    case 'TOO_MANY_GARMENTS':
    case 'DUPLICATE_CATEGORY':
    case 'DRESS_CONFLICT':
    case 'GARMENT_NOT_FOUND':
    case 'GARMENT_ARCHIVED':
    case 'DUPLICATE_GARMENT':
    case 'SHOPPER_MISMATCH':
    case 'CONCURRENCY_LIMIT':
    case 'RENDER_FINISHED':
    case 'INVALID_URL':
    case 'EVENTS_REQUIRED':
    case 'TOO_MANY_ENDPOINTS':
    case 'INVALID_IMAGE_INPUT':
    case 'UPLOAD_ALREADY_USED':
    case 'UPLOAD_EXPIRED':
    case 'UPLOAD_INCOMPLETE':
      return code;
    default: {
      const _exhaustive: never = code;
      return _exhaustive;
    }
  }
}

/** A failed render's code as the schema's RenderError.code carries it. */
function renderErrorCode(code: RenderFailureCode): RenderError['code'] {
  switch (code) {
    case 'MODEL_FILE_MISSING':
    case 'MODEL_CHECKSUM_MISMATCH':
    case 'INVALID_MANIFEST':
    case 'MODEL_CONTRACT_MISMATCH':
    case 'EXECUTION_PROVIDER_UNAVAILABLE':
    case 'INVALID_IMAGE':
    case 'INVALID_IMAGE_SIZE':
    case 'INVALID_MASK':
    case 'UNKNOWN_CATEGORY':
    case 'INVALID_CACHE':
    case 'INVALID_REQUEST':
    case 'CANCELED':
    case 'ENGINE_CLOSED':
    case 'ENGINE_CRASHED':
    case 'INTERNAL':
    case 'WORKER_LOST':
      return code;
    default: {
      const _exhaustive: never = code;
      return _exhaustive;
    }
  }
}
