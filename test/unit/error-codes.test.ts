// The one mapping of error codes (src/http/error-codes.ts): every code of every domain is
// mapped, each surface answers as before, and an unknown code does not compile.
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { GraphQLError } from 'graphql';
import {
  API_ERRORS,
  errorAnswer,
  GRAPHQL_ERROR_CODES,
  HTTP_ERROR_CODES,
  httpErrorStatus,
  USER_ERROR_CODES,
  type ApiError,
} from '../../src/http/error-codes';
import { clientCodeOf, isUnexpected, maskError } from '../../src/graphql/errors';
import { FILE_ERROR_STATUS, type FileErrorCode } from '../../src/blobs';
import { UPLOAD_PUT_REFUSALS } from '../../src/uploads/upload-errors';
import { GARMENT_ERROR_CODES } from '../../src/garments/garment-errors';
import { OUTFIT_ERROR_CODES } from '../../src/outfits/outfit-errors';
import { PHOTO_ERROR_CODES } from '../../src/photos/photo-errors';
import { RENDER_ERROR_CODES, RENDER_FAILURE_CODES } from '../../src/renders/render-errors';
import { SHOPPER_ERROR_CODES } from '../../src/shoppers/shopper-errors';
import { TENANT_ERROR_CODES } from '../../src/tenants/tenant-errors';
import { UPLOAD_ERROR_CODES } from '../../src/uploads/upload-errors';
import { WEBHOOK_ERROR_CODES } from '../../src/webhooks/webhook-errors';
import { QUOTA_ERROR_CODES } from '../../src/common/quotas';
import { TEXT_ERROR_CODES } from '../../src/common/text';
import { IMAGE_ERROR_CODES } from '../../src/images';
import { DEMO_SESSION_ERROR_CODES } from '../../src/demo/demo-sessions';

test('every code of every domain is mapped, unchanged, to its surface', () => {
  for (const error of API_ERRORS) {
    const answer = errorAnswer(error);
    expect({ code: answer.code, graphql: answer.graphql }).toEqual({
      code: error.code,
      graphql: { userError: 'userError', graphqlError: 'extensions', renderError: 'renderError', http: null }[error.via],
    });
    if (error.via === 'userError' || error.via === 'renderError') expect(answer.httpStatus).toBeNull();
    if (error.via === 'http') expect(answer.httpStatus).toBeGreaterThanOrEqual(400);
  }
  const domains = [
    ...GARMENT_ERROR_CODES,
    ...OUTFIT_ERROR_CODES,
    ...PHOTO_ERROR_CODES,
    ...RENDER_ERROR_CODES,
    ...SHOPPER_ERROR_CODES,
    ...TENANT_ERROR_CODES,
    ...UPLOAD_ERROR_CODES,
    ...WEBHOOK_ERROR_CODES,
    ...QUOTA_ERROR_CODES,
    ...TEXT_ERROR_CODES,
    ...IMAGE_ERROR_CODES,
  ];
  expect(new Set(USER_ERROR_CODES)).toEqual(new Set(domains));
  expect(new Set(API_ERRORS.filter((e) => e.via === 'renderError').map((e) => e.code))).toEqual(new Set(RENDER_FAILURE_CODES));
});

test('the GraphQL errors whose message reaches the client are the 23 codes of before', () => {
  const clientCodes = [
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
    'QUERY_TOO_LARGE',
    'TOO_MANY_TOKENS',
    'TOO_MANY_ALIASES',
    'TOO_MANY_FIELDS',
    'TOO_MANY_DIRECTIVES',
    'TOO_MANY_ROOT_FIELDS',
    'QUERY_TOO_DEEP',
    'QUERY_TOO_COSTLY',
  ];
  expect([...GRAPHQL_ERROR_CODES].sort()).toEqual([...clientCodes].sort());
  for (const code of clientCodes) {
    const error = new GraphQLError('refused', { extensions: { code } });
    expect([isUnexpected(error), clientCodeOf(error), maskError({ message: 'refused', extensions: { code } }, error).message]).toEqual([
      false,
      code,
      'refused',
    ]);
  }
  for (const code of ['METHOD_NOT_ALLOWED', 'SERVICE_UNAVAILABLE', 'SOMETHING_ELSE', undefined]) {
    const error = new GraphQLError('details', { extensions: { code } });
    expect([isUnexpected(error), clientCodeOf(error)]).toEqual([true, 'INTERNAL_SERVER_ERROR']);
  }
});

test('HTTP routes answer the statuses of before', () => {
  const statusOf = (code: (typeof HTTP_ERROR_CODES)[number]) => errorAnswer({ via: 'http', code }).httpStatus;
  expect(Object.fromEntries(Object.values(UPLOAD_PUT_REFUSALS).map(({ code }) => [code, statusOf(code)]))).toEqual({
    LINK_INVALID: 403,
    LINK_EXPIRED: 403,
    NOT_FOUND: 404,
    LENGTH_REQUIRED: 411,
    PAYLOAD_TOO_LARGE: 413,
    UPLOAD_ALREADY_RECEIVED: 409,
    UPLOAD_INCOMPLETE: 400,
  });
  expect(Object.fromEntries(DEMO_SESSION_ERROR_CODES.map((code) => [code, statusOf(code)]))).toEqual({
    INVALID_VISITOR: 400,
    DEMO_LOOPBACK_ONLY: 403,
    DEMO_VISITOR_LIMIT: 429,
    DEMO_UNAVAILABLE: 503,
  });
  for (const [code, status] of Object.entries(FILE_ERROR_STATUS)) expect(httpErrorStatus(code as FileErrorCode)).toBe(status);
  expect(
    ['UNAUTHENTICATED', 'METHOD_NOT_ALLOWED', 'HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT', 'BAD_REQUEST', 'SERVICE_UNAVAILABLE'].map(
      statusOf as (c: string) => unknown,
    ),
  ).toEqual([401, 405, 431, 408, 400, 503]);
  expect(
    ['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND'].map((code) => errorAnswer({ via: 'graphqlError', code } as ApiError).httpStatus),
  ).toEqual([401, 403, 404]);
});

test('a code outside the closed sets does not type-check', () => {
  // @ts-expect-error: not a code of any domain
  const unknown: ApiError = { via: 'userError', code: 'NOT_A_CODE' };
  // @ts-expect-error: a GraphQL error code is not an HTTP route's
  const misplaced: ApiError = { via: 'http', code: 'QUERY_TOO_DEEP' };
  expect([unknown.code, misplaced.code]).toHaveLength(2);
});

test('userErrors are made only by the modules that own a closed set of codes', () => {
  const owners = /(-errors\.ts|^common\/(text|user-errors)\.ts|^common\/quotas\.ts|^images\/errors\.ts)$/;
  const src = join(__dirname, '../../src');
  const makers = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.startsWith('generated'))
    .filter((file) => /\buserError\(/.test(readFileSync(join(src, file), 'utf8')))
    .map((file) => file.split(sep).join('/'));
  expect(makers.length).toBeGreaterThan(10);
  expect(makers.filter((file) => !owners.test(file))).toEqual([]);
});
