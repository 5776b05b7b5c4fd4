// The bad-input corpus: one line per case, over every mutation and every HTTP endpoint.
// Each case must get its own clear code (GraphQL extensions.code, a userErrors code, an
// HTTP status with a JSON error code, or a graphql-ws close code), leave every table's
// row count as it was, and leave the server answering. INTERNAL_SERVER_ERROR is never
// an expected code: a case that gets it is a bug to fix, not a case to write down.
import { readFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { buildSchema } from 'graphql';
import sharp from 'sharp';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createApiKey, createGarment, createShopperSession, createTenant, ok, OPERATOR, pngDataUrl } from '../support/graphql-client';
import type { WireAnswer, WireError } from '../support/answers';
import { schemaPath } from '../../src/common/project-paths';
import { deriveSecret } from '../../src/main/platform';
import { GRAPHQL_BODY_LIMIT } from '../../src/http/http-app';
import { SessionTokens } from '../../src/auth/tokens';
import { UrlSigner } from '../../src/blobs';
import { DEFAULT_MAX_IMAGE_BYTES } from '../../src/images';

const SECRET = randomBytes(32).toString('base64url');

interface World {
  url: string;
  admin: string;
  reader: string;
  shopper: string;
  shopperId: string;
  garment: string;
  photo: string;
  outfit: string;
  render: string;
  canceledRender: string;
  apiKey: string;
  webhook: string;
  upload: string;
  uploadUrl: string;
  fileUrl: string;
  foreignGarment: string;
  foreignShopper: string;
  foreignPhoto: string;
  /** The shopper session's own photo, and an outfit of another shopper of the tenant. */
  shopperPhoto: string;
  otherShopperOutfit: string;
  images: Record<string, string>;
}

/** What a case got back: an HTTP status (or graphql-ws close code) and a code. */
interface Answer {
  status: number;
  code: string;
}

interface Case {
  name: string;
  /** The operations it covers ("Mutation.createGarment", "GET /files", "graphql-ws"). */
  covers: string;
  send: (w: World) => Promise<Answer>;
  expect: Answer;
}

type Who = 'admin' | 'reader' | 'shopper' | 'operator' | 'none' | ((w: World) => string);
type Vars = Record<string, unknown> | ((w: World) => Record<string, unknown>);

function token(w: World, who: Who): string | null {
  if (typeof who === 'function') return who(w);
  return who === 'none' ? null : who === 'operator' ? OPERATOR : w[who];
}

/** The code of a GraphQL answer: the first error's, else the first userError's, else OK / NULL. */
function graphqlCode(body: unknown): string {
  const answer = body as WireAnswer | null | undefined;
  if (Array.isArray(answer?.errors) && answer.errors.length > 0) return String(answer.errors[0]?.extensions?.code ?? 'NO_CODE');
  const first = answer?.data ? Object.values(answer.data)[0] : undefined;
  if (first === null) return 'NULL';
  const userErrors = (first as { userErrors?: { code: string }[] } | undefined)?.userErrors;
  if (userErrors && userErrors.length > 0) return userErrors[0]!.code;
  return 'OK';
}

async function post(w: World, who: Who, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const t = token(w, who);
  const res = await fetch(`${w.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}), ...headers },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { status: res.status, code: `NOT_JSON: ${text.slice(0, 80)}` };
  }
  const restError = (json as { error?: { code?: string } } | null)?.error?.code;
  return { status: res.status, code: restError ?? graphqlCode(json) };
}

/** A GraphQL request case. */
function gq(name: string, who: Who, query: string, vars: Vars, status: number, code: string): Case {
  const field = /^\s*(?:mutation|query|subscription)?[^{]*\{\s*(\w+)/.exec(query)?.[1] ?? '?';
  const kind = /^\s*mutation/.test(query) ? 'Mutation' : 'Query';
  return {
    name,
    covers: `${kind}.${field}`,
    send: (w) => post(w, who, JSON.stringify({ query, variables: typeof vars === 'function' ? vars(w) : vars })),
    expect: { status, code },
  };
}

interface RawRequest {
  method: string;
  /** Path (with query) on the server, or an absolute URL. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A raw HTTP case: the answer must be JSON with a code (REST: error.code; /graphql: errors[0].extensions.code). */
function http(name: string, covers: string, request: (w: World) => RawRequest, status: number, code: string): Case {
  return {
    name,
    covers,
    send: async (w) => {
      const r = request(w);
      const res = await fetch(r.path.startsWith('http') ? r.path : `${w.url}${r.path}`, {
        method: r.method,
        headers: r.headers,
        body: r.body,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      let json: WireAnswer | null;
      try {
        json = JSON.parse(text);
      } catch {
        return { status: res.status, code: `NOT_JSON: ${text.slice(0, 80)}` };
      }
      return { status: res.status, code: String(json?.error?.code ?? (json?.errors ? graphqlCode(json) : 'NO_CODE')) };
    },
    expect: { status, code },
  };
}

/** Bytes written to a raw TCP socket: what Node's HTTP parser refuses must still be a JSON error. */
function tcp(name: string, bytes: string, status: number, code: string): Case {
  return {
    name,
    covers: 'raw HTTP',
    send: (w) =>
      new Promise<Answer>((resolve, reject) => {
        const { hostname, port } = new URL(w.url);
        const socket = connect(Number(port), hostname, () => socket.end(bytes));
        let received = '';
        socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
        socket.on('data', (d) => (received += d.toString('utf8')));
        socket.on('error', reject);
        socket.on('close', () => {
          const statusLine = /^HTTP\/1\.1 (\d{3})/.exec(received);
          const body = received.slice(received.indexOf('\r\n\r\n') + 4);
          let answerCode = 'NOT_JSON';
          try {
            answerCode = String(JSON.parse(body).error.code);
          } catch {
            // keeps NOT_JSON
          }
          resolve({ status: Number(statusLine?.[1] ?? 0), code: answerCode });
        });
      }),
    expect: { status, code },
  };
}

/**
 * A graphql-ws case: opens a socket (subprotocol graphql-transport-ws unless given), sends
 * the messages in order, and answers with the close code and reason, or with the first
 * `error` message's code (status 200) when the server answers that way.
 */
function ws(name: string, script: (w: World) => { messages: (string | object)[]; protocol?: string }, status: number, code: string): Case {
  return {
    name,
    covers: 'graphql-ws',
    send: (w) =>
      new Promise<Answer>((resolve, reject) => {
        const { messages, protocol } = script(w);
        const address = `${w.url.replace(/^http/, 'ws')}/graphql`;
        const socket = protocol === '' ? new WebSocket(address) : new WebSocket(address, protocol ?? 'graphql-transport-ws');
        const timer = setTimeout(() => {
          socket.terminate();
          reject(new Error('no answer over graphql-ws in 10 s'));
        }, 10_000);
        const done = (answer: Answer) => {
          clearTimeout(timer);
          socket.close();
          resolve(answer);
        };
        // Sends the messages in order; after a connection_init, waits for its acknowledgement.
        let next = 0;
        const sendUntilInit = () => {
          while (next < messages.length) {
            const m = messages[next++]!;
            socket.send(typeof m === 'string' ? m : JSON.stringify(m));
            if (typeof m === 'object' && (m as { type?: string }).type === 'connection_init') return;
          }
        };
        socket.on('open', sendUntilInit);
        socket.on('message', (data) => {
          // An 'error' message carries a list of errors, a 'next' message an answer.
          const message = JSON.parse(String(data)) as { type: string; payload?: WireError[] & WireAnswer };
          if (message.type === 'connection_ack') sendUntilInit();
          if (message.type === 'error') done({ status: 200, code: String(message.payload?.[0]?.extensions?.code ?? 'NO_CODE') });
          if (message.type === 'next' && message.payload?.errors)
            done({ status: 200, code: String(message.payload.errors[0]?.extensions?.code ?? 'NO_CODE') });
        });
        socket.on('close', (closeCode, reason) => done({ status: closeCode, code: String(reason) }));
        socket.on('error', () => undefined);
      }),
    expect: { status, code },
  };
}

// ---- requests and inputs used by many cases --------------------------------------------

const CREATE_TENANT = `mutation($i: CreateTenantInput!) { createTenant(input: $i) { tenant { id } apiKey userErrors { code } } }`;
const CREATE_UPLOAD = `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId userErrors { code } } }`;
const CREATE_GARMENT = `mutation($i: CreateGarmentInput!) { createGarment(input: $i) { garment { id } userErrors { code } } }`;
const ARCHIVE = `mutation($id: ID!) { archiveGarment(id: $id) { garment { id } userErrors { code } } }`;
const CREATE_SHOPPER = `mutation($i: CreateShopperInput!) { createShopper(input: $i) { shopper { id } userErrors { code } } }`;
const SESSION = `mutation($id: ID!) { createShopperSession(shopperId: $id) { token userErrors { code } } }`;
const UPLOAD_PHOTO = `mutation($i: UploadPersonPhotoInput!) { uploadPersonPhoto(input: $i) { personPhoto { id } userErrors { code } } }`;
const CREATE_OUTFIT = `mutation($i: CreateOutfitInput!) { createOutfit(input: $i) { outfit { id } userErrors { code } } }`;
const REQUEST_RENDER = `mutation($i: RequestRenderInput!) { requestRender(input: $i) { render { id } userErrors { code } } }`;
const CANCEL = `mutation($id: ID!) { cancelRender(id: $id) { render { id } userErrors { code } } }`;
const CREATE_KEY = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret userErrors { code } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } userErrors { code } } }`;
const RETRY_CACHE = `mutation($id: ID!) { retryReferenceCache(garmentId: $id) { garment { id } userErrors { code } } }`;
const ADD_WEBHOOK = `mutation($i: AddWebhookEndpointInput!) { addWebhookEndpoint(input: $i) { endpoint { id } userErrors { code } } }`;
const DELETE_PHOTO = `mutation($id: ID!) { deletePersonPhoto(id: $id) { deletedPersonPhotoId userErrors { code } } }`;
const REMOVE_WEBHOOK = `mutation($id: ID!) { removeWebhookEndpoint(id: $id) { endpoint { id } userErrors { code } } }`;
const NODE = `query($id: ID!) { node(id: $id) { id } }`;
const GARMENTS = `query($f: Int, $a: String) { garments(first: $f, after: $a) { totalCount } }`;

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const NO_SUCH_GARMENT = b64(`Garment:${randomUUID()}`);
const garment = (over: Record<string, unknown>) => (w: World) => ({
  i: { sku: 'NEW-1', name: 'New', category: 'TOP', image: { dataUrl: w.images.png }, ...over },
});
const image = (kind: string) => (w: World) => ({
  i: { sku: `IMG-${kind}`, name: 'Image', category: 'TOP', image: { dataUrl: w.images[kind] } },
});
const photo = (kind: string) => (w: World) => ({ i: { image: { dataUrl: w.images[kind] } } });
const render = (over: Record<string, unknown>) => (w: World) => ({ i: { outfitId: w.outfit, personPhotoId: w.photo, ...over } });
const outfit = (over: Record<string, unknown>) => (w: World) => ({ i: { name: 'Look', garmentIds: [w.garment], ...over } });
/** Replaces one character in the middle of a token or signature, keeping its alphabet. */
const tamper = (text: string, at = Math.floor(text.length / 2)) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
const withSig = (url: string, edit: (sig: string) => string) => url.replace(/sig=([^&]+)/, (_, sig: string) => `sig=${edit(sig)}`);
const sessionSigner = new SessionTokens([deriveSecret(SECRET, 'sessions')]);
const fileSigner = new UrlSigner({ secrets: [deriveSecret(SECRET, 'files')], basePath: '/files' });
const uploadSigner = new UrlSigner({ secrets: [deriveSecret(SECRET, 'uploads')], basePath: '/uploads' });
const tenantOf = (w: World) => w.fileUrl.split('/')[5]!; // /files/garments/<tenant>/...
const uuidOf = (id: string) => Buffer.from(id, 'base64url').toString().split(':')[1]!;
const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';
const EMOJI = '\u{1F457}'; // a dress, 4 bytes in UTF-8, 2 UTF-16 code units

const cases: Case[] = [
  // -- createTenant
  gq('createTenant: empty name', 'operator', CREATE_TENANT, { i: { name: '   ' } }, 200, 'NAME_REQUIRED'),
  gq('createTenant: 1 MB name', 'operator', CREATE_TENANT, { i: { name: 'n'.repeat(1_000_000) } }, 200, 'NAME_TOO_LONG'),
  gq('createTenant: NUL in the name', 'operator', CREATE_TENANT, { i: { name: 'Acme\u0000Corp' } }, 200, 'INVALID_CHARACTERS'),
  gq(
    'createTenant: negative maxConcurrentRenders',
    'operator',
    CREATE_TENANT,
    { i: { name: 'T', maxConcurrentRenders: -1 } },
    200,
    'OUT_OF_RANGE',
  ),
  gq(
    'createTenant: maxConcurrentRenders 2^31-1',
    'operator',
    CREATE_TENANT,
    { i: { name: 'T', maxConcurrentRenders: 2 ** 31 - 1 } },
    200,
    'OUT_OF_RANGE',
  ),
  gq(
    'createTenant: maxConcurrentRenders 2^31 (not an Int)',
    'operator',
    CREATE_TENANT,
    { i: { name: 'T', maxConcurrentRenders: 2 ** 31 } },
    400,
    'BAD_USER_INPUT',
  ),
  gq('createTenant: resultRetentionHours 0', 'operator', CREATE_TENANT, { i: { name: 'T', resultRetentionHours: 0 } }, 200, 'OUT_OF_RANGE'),
  gq(
    'createTenant: resultRetentionHours 1.5 (not an Int)',
    'operator',
    CREATE_TENANT,
    { i: { name: 'T', resultRetentionHours: 1.5 } },
    400,
    'BAD_USER_INPUT',
  ),
  gq('createTenant: name is a number', 'operator', CREATE_TENANT, { i: { name: 42 } }, 400, 'BAD_USER_INPUT'),
  gq('createTenant: with a tenant API key', 'admin', CREATE_TENANT, { i: { name: 'T' } }, 200, 'FORBIDDEN'),
  gq('createTenant: without a token', 'none', CREATE_TENANT, { i: { name: 'T' } }, 200, 'UNAUTHENTICATED'),
  // -- createUpload
  gq('createUpload: negative byteSize', 'admin', CREATE_UPLOAD, { i: { contentType: 'image/png', byteSize: -1 } }, 200, 'OUT_OF_RANGE'),
  gq(
    'createUpload: byteSize over 10 MB',
    'admin',
    CREATE_UPLOAD,
    { i: { contentType: 'image/png', byteSize: DEFAULT_MAX_IMAGE_BYTES + 1 } },
    200,
    'IMAGE_TOO_LARGE',
  ),
  gq(
    'createUpload: byteSize 1e20 (not an Int)',
    'admin',
    CREATE_UPLOAD,
    { i: { contentType: 'image/png', byteSize: 1e20 } },
    400,
    'BAD_USER_INPUT',
  ),
  gq(
    'createUpload: contentType image/gif',
    'admin',
    CREATE_UPLOAD,
    { i: { contentType: 'image/gif', byteSize: 100 } },
    200,
    'UNSUPPORTED_IMAGE_FORMAT',
  ),
  gq(
    'createUpload: contentType with a lone surrogate',
    'admin',
    CREATE_UPLOAD,
    { i: { contentType: `image/png${LONE_HIGH}`, byteSize: 100 } },
    200,
    'UNSUPPORTED_IMAGE_FORMAT',
  ),
  gq(
    'createUpload: with a CATALOG_READ key',
    'reader',
    CREATE_UPLOAD,
    { i: { contentType: 'image/png', byteSize: 100 } },
    200,
    'FORBIDDEN',
  ),
  // -- createGarment: text
  gq('createGarment: empty sku', 'admin', CREATE_GARMENT, garment({ sku: '' }), 200, 'SKU_REQUIRED'),
  gq('createGarment: 1 MB sku', 'admin', CREATE_GARMENT, garment({ sku: 'S'.repeat(1_000_000) }), 200, 'SKU_TOO_LONG'),
  gq('createGarment: NUL in the sku', 'admin', CREATE_GARMENT, garment({ sku: 'A\u0000B' }), 200, 'INVALID_CHARACTERS'),
  gq(
    'createGarment: lone high surrogate in the sku',
    'admin',
    CREATE_GARMENT,
    garment({ sku: `A${LONE_HIGH}` }),
    200,
    'INVALID_CHARACTERS',
  ),
  gq(
    'createGarment: lone low surrogate in the name',
    'admin',
    CREATE_GARMENT,
    garment({ name: `${LONE_LOW}dress` }),
    200,
    'INVALID_CHARACTERS',
  ),
  gq('createGarment: RTL override in the sku', 'admin', CREATE_GARMENT, garment({ sku: 'TEE-\u202E1-EET' }), 200, 'INVALID_CHARACTERS'),
  gq(
    'createGarment: escape sequence in the name',
    'admin',
    CREATE_GARMENT,
    garment({ name: 'Tee \u001b[31mred' }),
    200,
    'INVALID_CHARACTERS',
  ),
  gq(
    'createGarment: 101 four-byte emoji as sku (limit 100 characters)',
    'admin',
    CREATE_GARMENT,
    garment({ sku: EMOJI.repeat(101) }),
    200,
    'SKU_TOO_LONG',
  ),
  gq(
    'createGarment: e + 200 combining accents as name (201 characters)',
    'admin',
    CREATE_GARMENT,
    garment({ name: `e${'\u0301'.repeat(200)}` }),
    200,
    'NAME_TOO_LONG',
  ),
  gq('createGarment: unknown category', 'admin', CREATE_GARMENT, garment({ category: 'HAT' }), 400, 'BAD_USER_INPUT'),
  gq('createGarment: sku is a list', 'admin', CREATE_GARMENT, garment({ sku: ['A', 'B'] }), 400, 'BAD_USER_INPUT'),
  gq(
    'createGarment: missing image',
    'admin',
    CREATE_GARMENT,
    (w) => ({ i: { ...garment({})(w).i, image: undefined } }),
    400,
    'BAD_USER_INPUT',
  ),
  gq(
    'createGarment: both dataUrl and uploadId',
    'admin',
    CREATE_GARMENT,
    (w) => garment({ image: { dataUrl: w.images.png, uploadId: w.upload } })(w),
    200,
    'INVALID_IMAGE_INPUT',
  ),
  gq('createGarment: neither dataUrl nor uploadId', 'admin', CREATE_GARMENT, garment({ image: {} }), 200, 'INVALID_IMAGE_INPUT'),
  gq(
    'createGarment: upload whose bytes never came',
    'admin',
    CREATE_GARMENT,
    (w) => garment({ image: { uploadId: w.upload } })(w),
    200,
    'UPLOAD_INCOMPLETE',
  ),
  gq('createGarment: malformed uploadId', 'admin', CREATE_GARMENT, garment({ image: { uploadId: '%%%' } }), 200, 'NOT_FOUND'),
  gq('createGarment: with a CATALOG_READ key', 'reader', CREATE_GARMENT, garment({}), 200, 'FORBIDDEN'),
  gq('createGarment: with a shopper session', 'shopper', CREATE_GARMENT, garment({}), 200, 'FORBIDDEN'),
  // -- createGarment and uploadPersonPhoto: every refused image kind
  gq('createGarment: not a data URL', 'admin', CREATE_GARMENT, image('http'), 200, 'INVALID_DATA_URL'),
  gq('createGarment: data URL with bad base64', 'admin', CREATE_GARMENT, image('badBase64'), 200, 'INVALID_DATA_URL'),
  gq('createGarment: text, not an image', 'admin', CREATE_GARMENT, image('text'), 200, 'NOT_AN_IMAGE'),
  gq('createGarment: empty data URL', 'admin', CREATE_GARMENT, image('empty'), 200, 'INVALID_DATA_URL'),
  gq('createGarment: truncated PNG', 'admin', CREATE_GARMENT, image('truncatedPng'), 200, 'IMAGE_TRUNCATED'),
  gq('createGarment: truncated JPEG', 'admin', CREATE_GARMENT, image('truncatedJpeg'), 200, 'IMAGE_TRUNCATED'),
  gq('createGarment: GIF', 'admin', CREATE_GARMENT, image('gif'), 200, 'UNSUPPORTED_IMAGE_FORMAT'),
  gq('createGarment: SVG', 'admin', CREATE_GARMENT, image('svg'), 200, 'UNSUPPORTED_IMAGE_FORMAT'),
  gq('createGarment: TIFF', 'admin', CREATE_GARMENT, image('tiff'), 200, 'UNSUPPORTED_IMAGE_FORMAT'),
  gq('createGarment: AVIF', 'admin', CREATE_GARMENT, image('avif'), 200, 'UNSUPPORTED_IMAGE_FORMAT'),
  gq('createGarment: HEIC', 'admin', CREATE_GARMENT, image('heic'), 200, 'UNSUPPORTED_IMAGE_FORMAT'),
  gq('createGarment: 63 px wide', 'admin', CREATE_GARMENT, image('small'), 200, 'IMAGE_TOO_SMALL'),
  gq('createGarment: header claims 10000 x 10000 px', 'admin', CREATE_GARMENT, image('bomb'), 200, 'IMAGE_TOO_MANY_PIXELS'),
  gq('createGarment: 10 MB + 1 byte', 'admin', CREATE_GARMENT, image('huge'), 200, 'IMAGE_TOO_LARGE'),
  gq('uploadPersonPhoto: GIF', 'admin', UPLOAD_PHOTO, photo('gif'), 200, 'UNSUPPORTED_IMAGE_FORMAT'),
  gq('uploadPersonPhoto: header claims 10000 x 10000 px', 'admin', UPLOAD_PHOTO, photo('bomb'), 200, 'IMAGE_TOO_MANY_PIXELS'),
  gq('uploadPersonPhoto: truncated PNG', 'shopper', UPLOAD_PHOTO, photo('truncatedPng'), 200, 'IMAGE_TRUNCATED'),
  gq(
    "uploadPersonPhoto: another tenant's shopperId",
    'admin',
    UPLOAD_PHOTO,
    (w) => ({ i: { image: { dataUrl: w.images.png }, shopperId: w.foreignShopper } }),
    200,
    'NOT_FOUND',
  ),
  gq(
    'uploadPersonPhoto: a garment ID as shopperId',
    'admin',
    UPLOAD_PHOTO,
    (w) => ({ i: { image: { dataUrl: w.images.png }, shopperId: w.garment } }),
    200,
    'NOT_FOUND',
  ),
  gq('uploadPersonPhoto: with a CATALOG_READ key', 'reader', UPLOAD_PHOTO, photo('png'), 200, 'FORBIDDEN'),
  gq('uploadPersonPhoto: a shopper over its photo quota', 'shopper', UPLOAD_PHOTO, photo('png'), 200, 'PHOTO_QUOTA_EXCEEDED'),
  gq(
    'createUpload: a shopper over its photo quota',
    'shopper',
    CREATE_UPLOAD,
    { i: { contentType: 'image/png', byteSize: 100 } },
    200,
    'PHOTO_QUOTA_EXCEEDED',
  ),
  gq(
    "createUpload: more than the tenant's storage quota",
    'admin',
    CREATE_UPLOAD,
    { i: { contentType: 'image/png', byteSize: 2_000_000 } },
    200,
    'STORAGE_QUOTA_EXCEEDED',
  ),
  // -- deletePersonPhoto
  gq("deletePersonPhoto: another tenant's photo", 'admin', DELETE_PHOTO, (w) => ({ id: w.foreignPhoto }), 200, 'NOT_FOUND'),
  gq('deletePersonPhoto: a garment ID', 'admin', DELETE_PHOTO, (w) => ({ id: w.garment }), 200, 'NOT_FOUND'),
  gq('deletePersonPhoto: malformed ID', 'admin', DELETE_PHOTO, { id: '%%%' }, 200, 'NOT_FOUND'),
  gq('deletePersonPhoto: a shopper, a photo not its own', 'shopper', DELETE_PHOTO, (w) => ({ id: w.photo }), 200, 'NOT_FOUND'),
  gq('deletePersonPhoto: with a CATALOG_READ key', 'reader', DELETE_PHOTO, (w) => ({ id: w.photo }), 200, 'FORBIDDEN'),
  gq('deletePersonPhoto: without a token', 'none', DELETE_PHOTO, (w) => ({ id: w.photo }), 200, 'UNAUTHENTICATED'),
  // -- archiveGarment, retryReferenceCache: IDs
  gq("archiveGarment: another tenant's garment", 'admin', ARCHIVE, (w) => ({ id: w.foreignGarment }), 200, 'NOT_FOUND'),
  gq('archiveGarment: a garment that does not exist', 'admin', ARCHIVE, { id: NO_SUCH_GARMENT }, 200, 'NOT_FOUND'),
  gq('archiveGarment: a render ID', 'admin', ARCHIVE, (w) => ({ id: w.render }), 200, 'NOT_FOUND'),
  gq('archiveGarment: empty ID', 'admin', ARCHIVE, { id: '' }, 200, 'NOT_FOUND'),
  gq('archiveGarment: 100 kB ID', 'admin', ARCHIVE, { id: 'A'.repeat(100_000) }, 200, 'NOT_FOUND'),
  gq('archiveGarment: ID of "Garment:not-a-uuid"', 'admin', ARCHIVE, { id: b64('Garment:not-a-uuid') }, 200, 'NOT_FOUND'),
  gq('archiveGarment: ID with a NUL', 'admin', ARCHIVE, { id: b64(`Garment:${randomUUID()}\u0000`) }, 200, 'NOT_FOUND'),
  gq('archiveGarment: ID with an emoji', 'admin', ARCHIVE, { id: `${EMOJI}` }, 200, 'NOT_FOUND'),
  gq('archiveGarment: ID is a number', 'admin', ARCHIVE, { id: 12 }, 200, 'NOT_FOUND'),
  gq('archiveGarment: ID is an object', 'admin', ARCHIVE, { id: { id: 1 } }, 400, 'BAD_USER_INPUT'),
  gq('retryReferenceCache: cache not failed', 'admin', RETRY_CACHE, (w) => ({ id: w.garment }), 200, 'CACHE_NOT_FAILED'),
  gq("retryReferenceCache: another tenant's garment", 'admin', RETRY_CACHE, (w) => ({ id: w.foreignGarment }), 200, 'NOT_FOUND'),
  gq('retryReferenceCache: malformed ID', 'admin', RETRY_CACHE, { id: '!!' }, 200, 'NOT_FOUND'),
  // -- shoppers
  gq('createShopper: empty externalId', 'admin', CREATE_SHOPPER, { i: { externalId: '' } }, 200, 'EXTERNAL_ID_REQUIRED'),
  gq('createShopper: 201 emoji externalId', 'admin', CREATE_SHOPPER, { i: { externalId: EMOJI.repeat(201) } }, 200, 'EXTERNAL_ID_TOO_LONG'),
  gq('createShopper: NUL in the externalId', 'admin', CREATE_SHOPPER, { i: { externalId: 'a\u0000' } }, 200, 'INVALID_CHARACTERS'),
  gq(
    'createShopper: lone surrogate in the externalId',
    'admin',
    CREATE_SHOPPER,
    { i: { externalId: `a${LONE_HIGH}b` } },
    200,
    'INVALID_CHARACTERS',
  ),
  gq('createShopper: taken externalId', 'admin', CREATE_SHOPPER, { i: { externalId: 'ext' } }, 200, 'EXTERNAL_ID_TAKEN'),
  gq('createShopper: with a shopper session', 'shopper', CREATE_SHOPPER, { i: { externalId: 'x' } }, 200, 'FORBIDDEN'),
  gq("createShopperSession: another tenant's shopper", 'admin', SESSION, (w) => ({ id: w.foreignShopper }), 200, 'NOT_FOUND'),
  gq('createShopperSession: malformed ID', 'admin', SESSION, { id: '=' }, 200, 'NOT_FOUND'),
  // -- outfits
  gq('createOutfit: no garments', 'admin', CREATE_OUTFIT, outfit({ garmentIds: [] }), 200, 'OUTFIT_EMPTY'),
  gq(
    'createOutfit: six garments',
    'admin',
    CREATE_OUTFIT,
    (w) => outfit({ garmentIds: Array(6).fill(w.garment) })(w),
    200,
    'TOO_MANY_GARMENTS',
  ),
  gq(
    'createOutfit: 10,000 garment IDs',
    'admin',
    CREATE_OUTFIT,
    (w) => outfit({ garmentIds: Array(10_000).fill(w.garment) })(w),
    200,
    'TOO_MANY_GARMENTS',
  ),
  gq(
    'createOutfit: the same garment twice',
    'admin',
    CREATE_OUTFIT,
    (w) => outfit({ garmentIds: [w.garment, w.garment] })(w),
    200,
    'DUPLICATE_GARMENT',
  ),
  gq(
    "createOutfit: another tenant's garment",
    'admin',
    CREATE_OUTFIT,
    (w) => outfit({ garmentIds: [w.foreignGarment] })(w),
    200,
    'GARMENT_NOT_FOUND',
  ),
  gq('createOutfit: malformed garment ID', 'admin', CREATE_OUTFIT, outfit({ garmentIds: ['%'] }), 200, 'GARMENT_NOT_FOUND'),
  gq(
    'createOutfit: null in garmentIds',
    'admin',
    CREATE_OUTFIT,
    (w) => outfit({ garmentIds: [w.garment, null] })(w),
    400,
    'BAD_USER_INPUT',
  ),
  gq('createOutfit: NUL in the name', 'admin', CREATE_OUTFIT, outfit({ name: 'Look\u0000' }), 200, 'INVALID_CHARACTERS'),
  gq('createOutfit: 1 MB name', 'admin', CREATE_OUTFIT, outfit({ name: 'x'.repeat(1_000_000) }), 200, 'NAME_TOO_LONG'),
  gq(
    "createOutfit: another tenant's shopperId",
    'admin',
    CREATE_OUTFIT,
    (w) => outfit({ shopperId: w.foreignShopper })(w),
    200,
    'NOT_FOUND',
  ),
  // -- renders
  gq('requestRender: steps 0', 'admin', REQUEST_RENDER, render({ steps: 0 }), 200, 'OUT_OF_RANGE'),
  gq('requestRender: steps -2^31', 'admin', REQUEST_RENDER, render({ steps: -(2 ** 31) }), 200, 'OUT_OF_RANGE'),
  gq('requestRender: steps 2^53 (not an Int)', 'admin', REQUEST_RENDER, render({ steps: 2 ** 53 }), 400, 'BAD_USER_INPUT'),
  gq('requestRender: steps "20" (a string)', 'admin', REQUEST_RENDER, render({ steps: '20' }), 400, 'BAD_USER_INPUT'),
  gq('requestRender: guidanceScale 1e308', 'admin', REQUEST_RENDER, render({ guidanceScale: 1e308 }), 200, 'OUT_OF_RANGE'),
  gq('requestRender: guidanceScale -0.001', 'admin', REQUEST_RENDER, render({ guidanceScale: -0.001 }), 200, 'OUT_OF_RANGE'),
  gq('requestRender: seed 0.5 (not an Int)', 'admin', REQUEST_RENDER, render({ seed: 0.5 }), 400, 'BAD_USER_INPUT'),
  gq('requestRender: empty idempotencyKey', 'admin', REQUEST_RENDER, render({ idempotencyKey: '' }), 200, 'OUT_OF_RANGE'),
  gq('requestRender: idempotencyKey with a NUL', 'admin', REQUEST_RENDER, render({ idempotencyKey: 'k\u0000' }), 200, 'INVALID_CHARACTERS'),
  gq(
    "requestRender: another tenant's garment ID as outfitId",
    'admin',
    REQUEST_RENDER,
    (w) => render({ outfitId: w.foreignGarment })(w),
    200,
    'NOT_FOUND',
  ),
  gq(
    'requestRender: photo ID and outfit ID swapped',
    'admin',
    REQUEST_RENDER,
    (w) => render({ outfitId: w.photo, personPhotoId: w.outfit })(w),
    200,
    'NOT_FOUND',
  ),
  gq('requestRender: with a CATALOG_READ key', 'reader', REQUEST_RENDER, render({}), 200, 'FORBIDDEN'),
  gq(
    "requestRender: one shopper's photo, another shopper's outfit",
    'admin',
    REQUEST_RENDER,
    (w) => render({ outfitId: w.otherShopperOutfit, personPhotoId: w.shopperPhoto })(w),
    200,
    'SHOPPER_MISMATCH',
  ),
  gq('cancelRender: already canceled', 'admin', CANCEL, (w) => ({ id: w.canceledRender }), 200, 'RENDER_FINISHED'),
  gq('cancelRender: malformed ID', 'admin', CANCEL, { id: 'UmVuZGVyOg' }, 200, 'NOT_FOUND'),
  gq('cancelRender: with a CATALOG_READ key', 'reader', CANCEL, (w) => ({ id: w.render }), 200, 'FORBIDDEN'),
  // -- API keys
  gq('createApiKey: no scopes', 'admin', CREATE_KEY, { i: { name: 'k', scopes: [] } }, 200, 'SCOPES_REQUIRED'),
  gq('createApiKey: unknown scope', 'admin', CREATE_KEY, { i: { name: 'k', scopes: ['ROOT'] } }, 400, 'BAD_USER_INPUT'),
  gq('createApiKey: NUL in the name', 'admin', CREATE_KEY, { i: { name: '\u0000', scopes: ['ADMIN'] } }, 200, 'INVALID_CHARACTERS'),
  gq('createApiKey: with a CATALOG_READ key', 'reader', CREATE_KEY, { i: { name: 'k', scopes: ['ADMIN'] } }, 200, 'FORBIDDEN'),
  gq('revokeApiKey: a garment ID', 'admin', REVOKE, (w) => ({ id: w.garment }), 200, 'NOT_FOUND'),
  gq('revokeApiKey: malformed ID', 'admin', REVOKE, { id: '\u202E' }, 200, 'NOT_FOUND'),
  // -- webhooks
  gq(
    "addWebhookEndpoint: over the tenant's endpoint cap",
    'admin',
    ADD_WEBHOOK,
    { i: { url: 'https://hooks.example.com/second', events: ['RENDER_SUCCEEDED'] } },
    200,
    'TOO_MANY_ENDPOINTS',
  ),
  gq('addWebhookEndpoint: not a URL', 'admin', ADD_WEBHOOK, { i: { url: 'not a url', events: ['RENDER_SUCCEEDED'] } }, 200, 'INVALID_URL'),
  gq(
    'addWebhookEndpoint: file: URL',
    'admin',
    ADD_WEBHOOK,
    { i: { url: 'file:///etc/passwd', events: ['RENDER_SUCCEEDED'] } },
    200,
    'INVALID_URL',
  ),
  gq(
    'addWebhookEndpoint: URL with a NUL',
    'admin',
    ADD_WEBHOOK,
    { i: { url: 'https://hooks.example.com/\u0000', events: ['RENDER_SUCCEEDED'] } },
    200,
    'INVALID_URL',
  ),
  gq(
    'addWebhookEndpoint: 1 MB URL',
    'admin',
    ADD_WEBHOOK,
    { i: { url: `http://example.com/${'a'.repeat(1_000_000)}`, events: ['RENDER_SUCCEEDED'] } },
    200,
    'INVALID_URL',
  ),
  gq(
    'addWebhookEndpoint: the cloud metadata address',
    'admin',
    ADD_WEBHOOK,
    { i: { url: 'http://169.254.169.254/latest/meta-data/', events: ['RENDER_SUCCEEDED'] } },
    200,
    'INVALID_URL',
  ),
  gq(
    'addWebhookEndpoint: a loopback address',
    'admin',
    ADD_WEBHOOK,
    { i: { url: 'http://[::1]:6379/', events: ['RENDER_SUCCEEDED'] } },
    200,
    'INVALID_URL',
  ),
  gq(
    'addWebhookEndpoint: no events',
    'admin',
    ADD_WEBHOOK,
    { i: { url: 'https://hooks.example.com/h', events: [] } },
    200,
    'EVENTS_REQUIRED',
  ),
  gq(
    'addWebhookEndpoint: unknown event',
    'admin',
    ADD_WEBHOOK,
    { i: { url: 'https://hooks.example.com/h', events: ['EVERYTHING'] } },
    400,
    'BAD_USER_INPUT',
  ),
  gq(
    'addWebhookEndpoint: with a shopper session',
    'shopper',
    ADD_WEBHOOK,
    { i: { url: 'https://hooks.example.com/h', events: ['RENDER_SUCCEEDED'] } },
    200,
    'FORBIDDEN',
  ),
  gq('removeWebhookEndpoint: a render ID', 'admin', REMOVE_WEBHOOK, (w) => ({ id: w.render }), 200, 'NOT_FOUND'),
  gq('removeWebhookEndpoint: ID is null', 'admin', REMOVE_WEBHOOK, { id: null }, 400, 'BAD_USER_INPUT'),
  // -- queries: IDs, cursors, page sizes
  gq('node: malformed ID', 'admin', NODE, { id: '***' }, 200, 'NULL'),
  gq('node: an upload ID', 'admin', NODE, (w) => ({ id: w.upload }), 200, 'NULL'),
  gq('garments: first -1', 'admin', GARMENTS, { f: -1 }, 200, 'BAD_USER_INPUT'),
  gq('garments: first 101', 'admin', GARMENTS, { f: 101 }, 200, 'BAD_USER_INPUT'),
  gq('garments: first 2^31 (not an Int)', 'admin', GARMENTS, { f: 2 ** 31 }, 400, 'BAD_USER_INPUT'),
  gq('garments: cursor that is not base64 JSON', 'admin', GARMENTS, { a: 'garbage' }, 200, 'INVALID_CURSOR'),
  gq(
    'garments: cursor with a non-uuid id',
    'admin',
    GARMENTS,
    { a: b64(JSON.stringify(['2026-01-01T00:00:00.000Z', '-'.repeat(36)])) },
    200,
    'INVALID_CURSOR',
  ),
  gq(
    'garments: cursor in year -271821',
    'admin',
    GARMENTS,
    { a: b64(JSON.stringify(['-271821-04-20T00:00:00.000Z', randomUUID()])) },
    200,
    'INVALID_CURSOR',
  ),
  gq(
    'garments: cursor in year 275760',
    'admin',
    GARMENTS,
    { a: b64(JSON.stringify(['+275760-09-13T00:00:00.000Z', randomUUID()])) },
    200,
    'INVALID_CURSOR',
  ),
  gq(
    'garments: cursor with a NUL',
    'admin',
    GARMENTS,
    { a: b64(JSON.stringify(['2026-01-01T00:00:00.000Z', `${randomUUID()}\u0000`])) },
    200,
    'INVALID_CURSOR',
  ),
  gq(
    'webhookDeliveries: malformed endpointId',
    'admin',
    `query($id: ID) { webhookDeliveries(endpointId: $id) { totalCount } }`,
    { id: '%' },
    200,
    'OK',
  ),
  // -- tokens
  gq('token: not a known token', () => 'atk_nonsense', GARMENTS, {}, 401, 'UNAUTHENTICATED'),
  gq('token: API key with one character changed', (w) => tamper(w.admin), GARMENTS, {}, 401, 'UNAUTHENTICATED'),
  gq(
    'token: shopper session with its signature changed',
    (w) => tamper(w.shopper, w.shopper.length - 5),
    GARMENTS,
    {},
    401,
    'UNAUTHENTICATED',
  ),
  gq('token: shopper session with its payload changed', (w) => tamper(w.shopper, 12), GARMENTS, {}, 401, 'UNAUTHENTICATED'),
  gq(
    'token: expired shopper session',
    (w) => sessionSigner.sign({ tenantId: tenantOf(w), shopperId: uuidOf(w.shopperId), expiresAt: new Date(Date.now() - 1000) }),
    GARMENTS,
    {},
    401,
    'UNAUTHENTICATED',
  ),
  gq('token: a token of 8 kB', () => 'x'.repeat(8_000), GARMENTS, {}, 401, 'UNAUTHENTICATED'),
  gq('token: a token of 100 kB (headers too large)', () => 'x'.repeat(100_000), GARMENTS, {}, 431, 'HEADERS_TOO_LARGE'),
  gq('token: the operator token on a tenant query', 'operator', GARMENTS, {}, 200, 'FORBIDDEN'),
  http(
    'token: Authorization "Basic …"',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' },
      body: JSON.stringify({ query: '{ tenant { id } }' }),
    }),
    401,
    'UNAUTHENTICATED',
  ),
  // -- the GraphQL endpoint itself
  http(
    'POST /graphql: malformed JSON',
    'POST /graphql',
    () => ({ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '{"query": "{ tenant { id } }"' }),
    400,
    'BAD_REQUEST',
  ),
  http(
    'POST /graphql: JSON that is an array',
    'POST /graphql',
    () => ({ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '[1, 2]' }),
    400,
    'BAD_REQUEST',
  ),
  http(
    'POST /graphql: query is a number',
    'POST /graphql',
    () => ({ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '{"query": 5}' }),
    400,
    'BAD_REQUEST',
  ),
  http(
    'POST /graphql: variables is a string',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: '{"query": "{ tenant { id } }", "variables": "x"}',
    }),
    400,
    'BAD_REQUEST',
  ),
  http(
    'POST /graphql: syntax error',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: '{"query": "mutation { createTenant("}',
    }),
    400,
    'GRAPHQL_PARSE_FAILED',
  ),
  http(
    'POST /graphql: unknown field',
    'POST /graphql',
    () => ({ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '{"query": "{ everything }"}' }),
    400,
    'GRAPHQL_VALIDATION_FAILED',
  ),
  http(
    'POST /graphql: steps 1e100 as a literal',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation { requestRender(input: { outfitId: "x", personPhotoId: "y", steps: 1e100 }) { userErrors { code } } }',
      }),
    }),
    400,
    'GRAPHQL_VALIDATION_FAILED',
  ),
  http(
    'POST /graphql: two operations, no operationName',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query A { tenant { id } } query B { tenant { id } }' }),
    }),
    400,
    'OPERATION_RESOLUTION_FAILURE',
  ),
  http(
    'POST /graphql: query with a lone surrogate',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: `{"query": "{ tenant { id } } \\ud800"}`,
    }),
    400,
    'GRAPHQL_PARSE_FAILED',
  ),
  http(
    'POST /graphql: body is invalid UTF-8',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    }),
    400,
    'BAD_REQUEST',
  ),
  http(
    'POST /graphql: text/plain body (CSRF)',
    'POST /graphql',
    () => ({ method: 'POST', path: '/graphql', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ tenant { id } }"}' }),
    400,
    'BAD_REQUEST',
  ),
  http(
    'POST /graphql: a body over GRAPHQL_BODY_LIMIT',
    'POST /graphql',
    () => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: `{"query":"{ tenant { id } }","x":"${'a'.repeat(GRAPHQL_BODY_LIMIT)}"}`,
    }),
    413,
    'PAYLOAD_TOO_LARGE',
  ),
  http(
    'PUT /graphql',
    'POST /graphql',
    () => ({ method: 'PUT', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '{"query":"{ tenant { id } }"}' }),
    405,
    'METHOD_NOT_ALLOWED',
  ),
  http(
    'PATCH /graphql',
    'POST /graphql',
    () => ({ method: 'PATCH', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '{"query":"{ tenant { id } }"}' }),
    405,
    'METHOD_NOT_ALLOWED',
  ),
  http('DELETE /graphql', 'POST /graphql', () => ({ method: 'DELETE', path: '/graphql' }), 405, 'METHOD_NOT_ALLOWED'),
  http(
    'GET /graphql: a mutation',
    'GET /graphql',
    () => ({
      method: 'GET',
      path: `/graphql?query=${encodeURIComponent('mutation { createShopper(input: { externalId: "g" }) { userErrors { code } } }')}`,
      headers: { 'apollo-require-preflight': 'true' },
    }),
    405,
    'BAD_REQUEST',
  ),
  // -- signed downloads
  http('GET /files: tampered signature', 'GET /files', (w) => ({ method: 'GET', path: withSig(w.fileUrl, tamper) }), 403, 'LINK_INVALID'),
  http(
    'GET /files: signature of another file',
    'GET /files',
    (w) => ({ method: 'GET', path: w.fileUrl.replace(/\/files\/[^?]+/, `/files/garments/${tenantOf(w)}/${randomUUID()}`) }),
    403,
    'LINK_INVALID',
  ),
  http(
    'GET /files: expiry moved later',
    'GET /files',
    (w) => ({ method: 'GET', path: w.fileUrl.replace(/exp=(\d+)/, (_, e: string) => `exp=${Number(e) + 3600}`) }),
    403,
    'LINK_INVALID',
  ),
  http(
    'GET /files: expired link',
    'GET /files',
    (w) => ({
      method: 'GET',
      path: `${w.url}${fileSigner.sign(new URL(w.fileUrl).pathname.slice('/files/'.length), new Date(Date.now() - 1000))}`,
    }),
    403,
    'LINK_EXPIRED',
  ),
  http('GET /files: no signature', 'GET /files', (w) => ({ method: 'GET', path: new URL(w.fileUrl).pathname }), 403, 'LINK_INVALID'),
  http('GET /files: signature given twice', 'GET /files', (w) => ({ method: 'GET', path: `${w.fileUrl}&sig=x` }), 403, 'LINK_INVALID'),
  http(
    'GET /files: path traversal',
    'GET /files',
    () => ({ method: 'GET', path: '/files/..%2f..%2fetc/passwd?exp=9999999999&sig=x' }),
    403,
    'LINK_INVALID',
  ),
  http(
    'GET /files: genuine link to a deleted file',
    'GET /files',
    (w) => ({ method: 'GET', path: fileSigner.sign(`garments/${tenantOf(w)}/${randomUUID()}`, new Date(Date.now() + 60_000)) }),
    404,
    'NOT_FOUND',
  ),
  // -- signed uploads
  http(
    'PUT /uploads: tampered signature',
    'PUT /uploads',
    (w) => ({ method: 'PUT', path: withSig(w.uploadUrl, tamper), body: Buffer.alloc(10) }),
    403,
    'LINK_INVALID',
  ),
  http(
    'PUT /uploads: expired link',
    'PUT /uploads',
    (w) => ({
      method: 'PUT',
      path: uploadSigner.sign(new URL(w.uploadUrl).pathname.slice('/uploads/'.length), new Date(Date.now() - 1000)),
      body: Buffer.alloc(10),
    }),
    403,
    'LINK_EXPIRED',
  ),
  http(
    'PUT /uploads: more bytes than byteSize',
    'PUT /uploads',
    (w) => ({ method: 'PUT', path: w.uploadUrl, body: Buffer.alloc(101) }),
    413,
    'PAYLOAD_TOO_LARGE',
  ),
  http(
    'PUT /uploads: over 10 MB',
    'PUT /uploads',
    (w) => ({ method: 'PUT', path: w.uploadUrl, body: Buffer.alloc(DEFAULT_MAX_IMAGE_BYTES + 1) }),
    413,
    'PAYLOAD_TOO_LARGE',
  ),
  http(
    'PUT /uploads: genuine link to no upload',
    'PUT /uploads',
    (w) => ({
      method: 'PUT',
      path: uploadSigner.sign(`${tenantOf(w)}/${randomUUID()}`, new Date(Date.now() + 60_000)),
      body: Buffer.alloc(10),
    }),
    404,
    'NOT_FOUND',
  ),
  http(
    'PUT /uploads: no signature',
    'PUT /uploads',
    (w) => ({ method: 'PUT', path: new URL(w.uploadUrl).pathname, body: Buffer.alloc(10) }),
    403,
    'LINK_INVALID',
  ),
  // -- operations endpoints and unknown paths
  http('POST /healthz', 'GET /healthz', () => ({ method: 'POST', path: '/healthz', body: '{}' }), 405, 'METHOD_NOT_ALLOWED'),
  http('DELETE /readyz', 'GET /readyz', () => ({ method: 'DELETE', path: '/readyz' }), 405, 'METHOD_NOT_ALLOWED'),
  http('PUT /metrics', 'GET /metrics', () => ({ method: 'PUT', path: '/metrics', body: 'x' }), 405, 'METHOD_NOT_ALLOWED'),
  http('GET /metrics without the operator token', 'GET /metrics', () => ({ method: 'GET', path: '/metrics' }), 401, 'UNAUTHENTICATED'),
  http(
    'GET /metrics with a tenant API key',
    'GET /metrics',
    (w) => ({ method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${w.admin}` } }),
    401,
    'UNAUTHENTICATED',
  ),
  http('GET an unknown path', 'unknown path', () => ({ method: 'GET', path: `/${'x'.repeat(5000)}` }), 404, 'NOT_FOUND'),
  tcp('a request line that is not HTTP', 'GARBAGE / NOTHTTP\r\n\r\n', 400, 'BAD_REQUEST'),
  tcp('a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 400, 'BAD_REQUEST'),
  // -- graphql-ws
  ws('graphql-ws: a message that is not JSON', () => ({ messages: ['{not json'] }), 4400, 'Invalid message received'),
  ws('graphql-ws: a message without a type', () => ({ messages: [{ payload: {} }] }), 4400, 'Invalid message received'),
  ws(
    'graphql-ws: subscribe before connection_init',
    () => ({ messages: [{ id: '1', type: 'subscribe', payload: { query: '{ tenant { id } }' } }] }),
    4401,
    'Unauthorized',
  ),
  ws(
    'graphql-ws: connection_init twice',
    (w) => ({
      messages: [
        { type: 'connection_init', payload: { authorization: `Bearer ${w.admin}` } },
        { type: 'connection_init', payload: { authorization: `Bearer ${w.admin}` } },
      ],
    }),
    4429,
    'Too many initialisation requests',
  ),
  ws(
    'graphql-ws: connection_init with a bad token',
    () => ({ messages: [{ type: 'connection_init', payload: { authorization: 'Bearer atk_bad' } }] }),
    4403,
    'Forbidden',
  ),
  ws(
    'graphql-ws: connection_init with an expired session',
    (w) => ({
      messages: [
        {
          type: 'connection_init',
          payload: {
            authorization: `Bearer ${sessionSigner.sign({ tenantId: tenantOf(w), shopperId: uuidOf(w.shopperId), expiresAt: new Date(Date.now() - 1000) })}`,
          },
        },
      ],
    }),
    4403,
    'Forbidden',
  ),
  ws('graphql-ws: no subprotocol', () => ({ messages: [], protocol: '' }), 4406, 'Subprotocol not acceptable'),
  ws(
    'graphql-ws: subscribe without an id',
    (w) => ({
      messages: [
        { type: 'connection_init', payload: { authorization: `Bearer ${w.admin}` } },
        { type: 'subscribe', payload: { query: '{ tenant { id } }' } },
      ],
    }),
    4400,
    'Invalid message received',
  ),
  ws(
    'graphql-ws: a syntax error',
    (w) => ({
      messages: [
        { type: 'connection_init', payload: { authorization: `Bearer ${w.admin}` } },
        { id: '1', type: 'subscribe', payload: { query: 'subscription {' } },
      ],
    }),
    200,
    'GRAPHQL_PARSE_FAILED',
  ),
  ws(
    'graphql-ws: an unknown field',
    (w) => ({
      messages: [
        { type: 'connection_init', payload: { authorization: `Bearer ${w.admin}` } },
        { id: '1', type: 'subscribe', payload: { query: 'subscription { everything }' } },
      ],
    }),
    200,
    'GRAPHQL_VALIDATION_FAILED',
  ),
  ws(
    'graphql-ws: renderProgress of a malformed ID',
    (w) => ({
      messages: [
        { type: 'connection_init', payload: { authorization: `Bearer ${w.admin}` } },
        {
          id: '1',
          type: 'subscribe',
          payload: { query: 'subscription($id: ID!) { renderProgress(renderId: $id) { status } }', variables: { id: '\u0000' } },
        },
      ],
    }),
    200,
    'NOT_FOUND',
  ),
  ws(
    'graphql-ws: renderProgress with renderId a number',
    (w) => ({
      messages: [
        { type: 'connection_init', payload: { authorization: `Bearer ${w.admin}` } },
        {
          id: '1',
          type: 'subscribe',
          payload: { query: 'subscription($id: ID!) { renderProgress(renderId: $id) { status } }', variables: { id: { x: 1 } } },
        },
      ],
    }),
    200,
    'BAD_USER_INPUT',
  ),
];

async function refusedImages(): Promise<Record<string, string>> {
  const dataUrl = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;
  const make = (width = 96, height = 128) => sharp({ create: { width, height, channels: 3, background: '#888' } });
  const png = await make().png().toBuffer();
  const jpeg = await make().jpeg().toBuffer();
  const bomb = Buffer.from(png);
  bomb.writeUInt32BE(10000, 16);
  bomb.writeUInt32BE(10000, 20);
  return {
    png: dataUrl(png),
    http: 'https://example.com/tee.png',
    badBase64: 'data:image/png;base64,@@@',
    text: dataUrl(Buffer.from('just some text, not an image'), 'text/plain'),
    empty: 'data:image/png;base64,',
    truncatedPng: dataUrl(png.subarray(0, Math.floor(png.length * 0.6))),
    truncatedJpeg: dataUrl(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'image/jpeg'),
    gif: dataUrl(await make().gif().toBuffer(), 'image/gif'),
    svg: dataUrl(
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100"/></svg>'),
      'image/svg+xml',
    ),
    tiff: dataUrl(await make().tiff().toBuffer(), 'image/tiff'),
    avif: dataUrl(await make().avif().toBuffer(), 'image/avif'),
    heic: dataUrl(Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(212)]), 'image/heic'),
    small: dataUrl(await make(63, 128).png().toBuffer()),
    bomb: dataUrl(bomb),
    huge: dataUrl(Buffer.alloc(DEFAULT_MAX_IMAGE_BYTES + 1, 1)),
  };
}

async function makeWorld(url: string): Promise<World> {
  const { adminKey: admin } = await createTenant(url, 'Corpus');
  const reader = await createApiKey(url, admin, ['CATALOG_READ']);
  const garmentId = await createGarment(url, admin, 'TEE', 'TOP');
  const fileUrl = (await ok(url, admin, `query($id: ID!) { node(id: $id) { ... on Garment { image { url } } } }`, { id: garmentId })).node
    .image.url;
  const { shopperId, token: shopper } = await createShopperSession(url, admin, 'ext');
  const photoId = (await ok(url, admin, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl() } } })).uploadPersonPhoto.personPhoto.id;
  const outfitId = (await ok(url, admin, CREATE_OUTFIT, { i: { name: 'o', garmentIds: [garmentId] } })).createOutfit.outfit.id;
  const requested = () =>
    ok(url, admin, REQUEST_RENDER, { i: { outfitId, personPhotoId: photoId } }).then((d) => d.requestRender.render.id as string);
  const renderId = await requested();
  const canceledRender = await requested();
  await ok(url, admin, CANCEL, { id: canceledRender });
  const apiKey = (await ok(url, admin, `mutation { createApiKey(input: { name: "k2", scopes: [CATALOG_READ] }) { apiKey { id } } }`))
    .createApiKey.apiKey.id;
  const webhook = (await ok(url, admin, ADD_WEBHOOK, { i: { url: 'https://hooks.example.com/hook', events: ['RENDER_SUCCEEDED'] } }))
    .addWebhookEndpoint.endpoint.id;
  const upload = (
    await ok(url, admin, `mutation { createUpload(input: { contentType: "image/png", byteSize: 100 }) { uploadId uploadUrl } }`)
  ).createUpload;
  const victim = await createTenant(url, 'Victim');
  const foreignGarment = await createGarment(url, victim.adminKey, 'TEE', 'TOP');
  const { shopperId: foreignShopper } = await createShopperSession(url, victim.adminKey, 'ext');
  const foreignPhoto = (await ok(url, victim.adminKey, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl() } } })).uploadPersonPhoto
    .personPhoto.id;
  // The shopper holds its one allowed photo (ATELIER_SHOPPER_MAX_PHOTOS=1 below).
  const shopperPhoto = (await ok(url, shopper, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl() } } })).uploadPersonPhoto
    .personPhoto.id;
  const { shopperId: otherShopper } = await createShopperSession(url, admin, 'ext-other');
  const otherShopperOutfit = (await ok(url, admin, CREATE_OUTFIT, { i: { name: 'o', garmentIds: [garmentId], shopperId: otherShopper } }))
    .createOutfit.outfit.id;
  return {
    url,
    admin,
    reader,
    shopper,
    shopperId,
    garment: garmentId,
    photo: photoId,
    outfit: outfitId,
    render: renderId,
    canceledRender,
    apiKey,
    webhook,
    upload: upload.uploadId,
    uploadUrl: upload.uploadUrl.replace(/^http:\/\/localhost:\d+/, url),
    fileUrl: fileUrl.replace(/^http:\/\/localhost:\d+/, url),
    foreignGarment,
    foreignShopper,
    foreignPhoto,
    shopperPhoto,
    otherShopperOutfit,
    images: await refusedImages(),
  };
}

/** Rows of every table of the application, read as the system role (no row-level security). */
async function rowCounts(server: TestServer): Promise<Record<string, number>> {
  return server.db.withSystem(async (tx) => {
    const tables = await tx.$queryRawUnsafe<{ name: string }[]>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '\\_%' ORDER BY tablename`,
    );
    const union = tables.map((t) => `SELECT '${t.name}' AS name, count(*)::int AS rows FROM "${t.name}"`).join(' UNION ALL ');
    const rows = await tx.$queryRawUnsafe<{ name: string; rows: number }[]>(union);
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.rows)]));
  });
}

test('the corpus covers every mutation and every HTTP endpoint, with no case expecting an internal error', () => {
  const schema = buildSchema(readFileSync(schemaPath, 'utf8'));
  const covered = new Set(cases.map((c) => c.covers));
  const mutations = Object.keys(schema.getMutationType()!.getFields()).map((f) => `Mutation.${f}`);
  const endpoints = [
    'POST /graphql',
    'GET /graphql',
    'GET /files',
    'PUT /uploads',
    'GET /healthz',
    'GET /readyz',
    'GET /metrics',
    'graphql-ws',
  ];
  expect([...mutations, ...endpoints].filter((m) => !covered.has(m))).toEqual([]);
  expect(cases.length).toBeGreaterThanOrEqual(60);
  expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  expect(cases.filter((c) => c.expect.code === 'INTERNAL_SERVER_ERROR' || (c.expect.status >= 500 && c.expect.status < 1000))).toEqual([]);
});

describe.each(databaseKinds())('bad input on %s', (kind) => {
  let server: TestServer;
  let world: World;
  jest.setTimeout(120_000);

  beforeAll(async () => {
    // Quotas small enough for cases to reach them (the world's images take a few kB; it has one webhook endpoint).
    server = await startTestServer(kind, {
      ATELIER_SECRETS: SECRET,
      ATELIER_TENANT_STORAGE_MB: '1',
      ATELIER_SHOPPER_MAX_PHOTOS: '1',
      ATELIER_WEBHOOK_MAX_ENDPOINTS: '1',
    });
    world = await makeWorld(server.url.replace('localhost', '127.0.0.1'));
  });
  afterAll(() => server?.stop());

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await rowCounts(server);
    const answer = await c.send(world);
    expect(answer).toEqual(c.expect);
    expect(await rowCounts(server)).toEqual(before);
    // The server keeps answering.
    expect((await ok(world.url, world.admin, '{ tenant { name } }')).tenant.name).toBe('Corpus');
  });

  test('valid unicode is kept exactly: 4-byte emoji, combining characters, right-to-left text', async () => {
    const sku = `${EMOJI.repeat(100)}`;
    const name = `e\u0301 \u05E9\u05DC\u05D5\u05DD \u0627\u0644\u0633\u0644\u0627\u0645 ${EMOJI}`;
    const data = await ok(
      world.url,
      world.admin,
      `mutation($i: CreateGarmentInput!) { createGarment(input: $i) { garment { sku name } userErrors { code } } }`,
      {
        i: { sku, name, category: 'BAG', image: { dataUrl: world.images.png } },
      },
    );
    expect(data.createGarment).toEqual({ garment: { sku, name }, userErrors: [] });
  });
});
