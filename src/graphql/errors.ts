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
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COSTLY',
]);

export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    if (original instanceof AuthError) {
      return { ...formatted, message: original.message, extensions: { code: original.code } };
    }
    const code = formatted.extensions?.['code'];
    if (typeof code === 'string' && CLIENT_CODES.has(code)) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
    return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
