// One place maps errors to what clients see. Refusals keep their code; anything else is
// a bug: logged with the request id, returned as INTERNAL_SERVER_ERROR with no details.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AuthError, type AuthErrorCode } from '../auth/viewer';
import type { Logger } from '../observability/logger';

function httpStatus(code: AuthErrorCode): number {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
  }
}

/** An AuthError as the GraphQL error clients receive. */
export function authGraphQLError(error: AuthError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { code: error.code, http: { status: httpStatus(error.code) } } });
}

/** Codes that carry a message meant for the client. */
const CLIENT_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'INVALID_CURSOR',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'NOT_FOUND',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'TOO_MANY_SUBSCRIPTIONS',
  // Query limits (src/limits/query-limits.ts).
  'QUERY_TOO_LARGE',
  'TOO_MANY_TOKENS',
  'TOO_MANY_ALIASES',
  'TOO_MANY_FIELDS',
  'TOO_MANY_DIRECTIVES',
  'TOO_MANY_ROOT_FIELDS',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COSTLY',
]);

function originalOf(error: unknown): unknown {
  return error instanceof GraphQLError && error.originalError ? error.originalError : error;
}

/** Whether an error is a bug or an outage (masked for clients, logged) rather than a refusal. */
export function isUnexpected(error: unknown): boolean {
  const original = originalOf(error);
  if (original instanceof AuthError) return false;
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  return !(typeof code === 'string' && CLIENT_CODES.has(code));
}

/** What a client sees of an error: refusals keep their message and code; anything else is masked. */
export function maskError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = originalOf(error);
  if (original instanceof AuthError) {
    return { ...formatted, message: original.message, extensions: { code: original.code } };
  }
  const code = formatted.extensions?.['code'];
  if (typeof code === 'string' && CLIENT_CODES.has(code)) {
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** The code a client gets for an error (what maskError leaves): its own for refusals, else INTERNAL_SERVER_ERROR. */
export function clientCodeOf(error: unknown): string {
  const original = originalOf(error);
  if (original instanceof AuthError) return original.code;
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  return typeof code === 'string' && CLIENT_CODES.has(code) ? code : 'INTERNAL_SERVER_ERROR';
}

/** Logs an unexpected error with the request id the client was given (X-Request-Id), never with the request's tokens. */
export function logUnexpected(logger: Logger, error: unknown, requestId: string, path?: readonly (string | number)[]): void {
  logger.error({ err: originalOf(error), requestId, path }, 'unexpected error in a GraphQL operation');
}

/** maskError, and a log line for what it masked (graphql-ws, where the request id is at hand). */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown, requestId: string): GraphQLFormattedError => {
    if (isUnexpected(error)) logUnexpected(logger, error, requestId, formatted.path);
    return maskError(formatted, error);
  };
}
