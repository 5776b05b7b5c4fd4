// One place turns errors into what clients see. Refusals keep their code (the codes, and how
// each is answered, are in src/http/error-codes.ts); anything else is a bug: logged with the
// request id, returned as INTERNAL_SERVER_ERROR with no details.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AuthError } from '../auth/viewer';
import { errorAnswer, GRAPHQL_ERROR_CODES } from '../http/error-codes';
import type { Logger } from '../observability/logger';

/** An AuthError as the GraphQL error clients receive. */
export function authGraphQLError(error: AuthError): GraphQLError {
  const answer = errorAnswer({ via: 'graphqlError', code: error.code });
  return new GraphQLError(error.message, { extensions: { code: answer.code, http: { status: answer.httpStatus } } });
}

/** Codes that carry a message meant for the client: every code the mapping answers as a GraphQL error. */
const CLIENT_CODES: ReadonlySet<string> = new Set(GRAPHQL_ERROR_CODES.map((code) => errorAnswer({ via: 'graphqlError', code }).code));

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
