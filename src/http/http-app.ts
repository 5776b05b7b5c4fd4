// The express application's routes: health and readiness, metrics, signed file downloads, upload
// PUTs, the GraphQL endpoint, the demo session endpoint and, last, the web app (shopper
// page at /, catalog page at /catalog). Request ids are taken from X-Request-Id or made here.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import cors from 'cors';
import type { BlobStore, UrlSigner } from '../blobs';
import { BlobStoreError, createFileRouter } from '../blobs';
import type { Database } from '../db/database';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { UploadService } from '../uploads/upload-service';
import { UPLOAD_PUT_REFUSALS } from '../uploads/upload-errors';
import { DEFAULT_MAX_IMAGE_BYTES } from '../images';
import type { DemoSessions } from '../demo/demo-sessions';
import { safeEqual } from '../auth/tokens';
import { closeIfBodyUnread, closeUnlessContinued, continueBody, declaredLength, detachedBody, sendContinue } from './request-body';
import { apiSecurityHeaders, webPageSecurityHeaders } from './security-headers';
import { httpErrorStatus, type HttpErrorCode, type HttpRouteErrorCode } from './error-codes';

/** What the GraphQL transport (graphql/server.ts) hands the HTTP app. */
export interface GraphQLRoutes {
  /** Runs before the request body is read (the rate limit, whatever the method; then 405 for any but GET and POST). */
  beforeBody: express.RequestHandler;
  /** The caller's rate limit alone, for other routes whose calls cost work. */
  rateLimit: express.RequestHandler;
  /** The rest: query limits, then Apollo. */
  middleware: express.RequestHandler;
}

export interface HttpAppDeps {
  db: Database;
  blobs: BlobStore;
  fileSigner: UrlSigner;
  uploads: UploadService;
  logger: Logger;
  metrics: Metrics;
  /** Origins allowed to call /graphql from a browser ('*': any); empty: no CORS headers at all. */
  corsOrigins: readonly string[];
  graphql: GraphQLRoutes;
  /** The operator token: the one token GET /metrics answers here; undefined: /metrics is served on ATELIER_METRICS_PORT only. */
  operatorToken: string | undefined;
  /** The demo-only shopper session endpoint (POST /demo/session); null: not served (404). */
  demo: DemoSessions | null;
  /** The built web app (vite's output, with index.html); null or missing: / explains how to build it. */
  webAppDir: string | null;
  /** The base of the image and upload links the API hands out (the web pages' policy allows it); '': the server itself only. */
  publicUrl: string;
}

/** The web app's client-side routes: each answers index.html. */
export const WEB_APP_ROUTES = ['/', '/catalog'];

/** JSON bodies up to this size: an image as a base64 data URL (4/3 of 10 MB) plus the query. */
export const GRAPHQL_BODY_LIMIT = Math.ceil((DEFAULT_MAX_IMAGE_BYTES * 4) / 3) + 1024 * 1024;

/**
 * Every HTTP error of the API outside /graphql has this JSON body, and the status its code maps
 * to (or `status`, that of an error express raised).
 */
function refuse(res: express.Response, code: HttpErrorCode, message: string, status = httpErrorStatus(code)): void {
  res.status(status).json({ error: { code, message } });
}

/** Mounts every route on `app` (created with the HTTP server: http-listener.ts), in order. */
export function mountHttpApp(app: express.Express, deps: HttpAppDeps): express.Express {
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(apiSecurityHeaders());
  app.use(closeUnlessContinued);
  app.use(requestLog(deps.logger));
  // GraphQL first: it is by far the busiest route, so it is matched before the others.
  mountGraphQL(app, deps);
  mountProbes(app, deps);
  app.use(createFileRouter({ store: deps.blobs, signer: deps.fileSigner }));
  mountUploads(app, deps);
  if (deps.demo) mountDemoSession(app, deps.demo, deps.graphql.rateLimit);
  // The web app comes after every API route, so it can shadow none of them.
  mountWebApp(app, deps);
  app.use((req, res) => {
    refuse(res, 'NOT_FOUND', `nothing is served at ${req.method} ${req.path.slice(0, 100)}`);
  });
  app.use(errorHandler(deps.logger));
  return app;
}

/** Takes the request id from X-Request-Id (or makes one), answers it back, logs the request when answered. */
function requestLog(logger: Logger): express.RequestHandler {
  return (req, res, next) => {
    const requestId =
      typeof req.headers['x-request-id'] === 'string' && /^[\w.-]{1,100}$/.test(req.headers['x-request-id'])
        ? req.headers['x-request-id']
        : randomUUID();
    req.headers['x-request-id'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = Date.now();
    res.on('finish', () => {
      logger.info({ requestId, method: req.method, path: req.path, status: res.statusCode, ms: Date.now() - started }, 'request');
    });
    next();
  };
}

function mountGraphQL(app: express.Express, deps: HttpAppDeps): void {
  if (deps.corsOrigins.length > 0) {
    app.use(
      '/graphql',
      cors({
        origin: deps.corsOrigins.includes('*') ? '*' : [...deps.corsOrigins],
        methods: ['GET', 'POST', 'OPTIONS'],
        allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'apollo-require-preflight', 'x-apollo-operation-name'],
        exposedHeaders: ['x-request-id', 'retry-after'],
        // Tokens travel in the Authorization header, never in cookies.
        credentials: false,
        maxAge: 600,
      }),
    );
  }
  // A rate-limited caller's body, and that of a method other than GET and POST, is never read.
  app.use('/graphql', deps.graphql.beforeBody, continueBody, express.json({ limit: GRAPHQL_BODY_LIMIT }), deps.graphql.middleware);
}

/** Health, readiness and (to the operator token) metrics. */
function mountProbes(app: express.Express, deps: HttpAppDeps): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ready = await deps.db.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', database: ready });
  });

  // Metrics name operations and count refusals: the operator's only, here (without a token on
  // the loopback listener of ATELIER_METRICS_PORT, src/observability/metrics-server.ts).
  // Takes from the caller's rate-limit bucket like /graphql.
  app.get('/metrics', deps.graphql.rateLimit, async (req, res, next) => {
    try {
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1];
      if (!deps.operatorToken || !token || !safeEqual(token, deps.operatorToken)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        refuse(
          res,
          'UNAUTHENTICATED',
          'metrics are served here to the operator token only (Authorization: Bearer <token>), or on ATELIER_METRICS_PORT',
        );
        return;
      }
      res
        .set('Cache-Control', 'no-store')
        .type(deps.metrics.registry.contentType)
        .send(await deps.metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  });

  app.all(['/healthz', '/readyz', '/metrics'], (_req, res) => {
    res.setHeader('Allow', 'GET, HEAD');
    refuse(res, 'METHOD_NOT_ALLOWED', 'only GET and HEAD are served here');
  });
}

/**
 * Upload PUTs: the link, the upload and the declared length are checked before a byte of the
 * body is read; the body then streams to the blob store, which takes exactly the declared bytes.
 */
function mountUploads(app: express.Express, deps: HttpAppDeps): void {
  app.put('/uploads/*key', async (req, res, next) => {
    try {
      const params = req.params as Record<string, unknown>;
      const key = Array.isArray(params['key']) ? (params['key'] as string[]).join('/') : String(params['key']);
      const { exp, sig } = req.query;
      const result =
        typeof exp === 'string' && typeof sig === 'string'
          ? await deps.uploads.receive({
              key,
              exp,
              sig,
              declaredLength: declaredLength(req),
              openBody: () => {
                sendContinue(req, res);
                return detachedBody(req);
              },
            })
          : 'forbidden';
      deps.metrics.httpRequests.inc({ route: 'upload', status: result });
      if (result === 'ok') {
        res.status(204).end();
        return;
      }
      if (req.socket.destroyed) return; // the client went away mid-body: nobody to answer
      closeIfBodyUnread(req, res);
      const { code, message } = UPLOAD_PUT_REFUSALS[result];
      refuse(res, code, message);
    } catch (error) {
      // A client gone mid-body leaves no one to answer (and nothing stored).
      if (req.socket.destroyed) return;
      closeIfBodyUnread(req, res);
      if (error instanceof BlobStoreError && ['STORE_UNAVAILABLE', 'STORE_ACCESS_DENIED', 'BUCKET_NOT_FOUND'].includes(error.code)) {
        // Nothing was stored and the link still holds: the client may try again.
        deps.logger.error({ err: error, requestId: req.headers['x-request-id'] }, 'storing an upload failed');
        res.set('Retry-After', '5');
        refuse(res, 'SERVICE_UNAVAILABLE', 'the upload storage is unavailable; try again shortly');
        return;
      }
      next(error);
    }
  });
}

/** POST /demo/session: each call may create a shopper and copy photos, so it takes from the caller's rate-limit bucket. */
function mountDemoSession(app: express.Express, demo: DemoSessions, rateLimited: express.RequestHandler): void {
  app.post('/demo/session', rateLimited, continueBody, express.json({ limit: 4096 }), async (req, res, next) => {
    try {
      const result = await demo.createSession((req.body as { visitor?: unknown } | undefined)?.visitor, req.socket.remoteAddress);
      res.set('Cache-Control', 'no-store');
      if (result.kind === 'ok') res.json({ token: result.token, expiresAt: result.expiresAt.toISOString() });
      else {
        if (result.retryAfterMs !== undefined) res.set('Retry-After', String(Math.ceil(result.retryAfterMs / 1000)));
        refuse(res, result.code, result.message);
      }
    } catch (error) {
      next(error);
    }
  });
}

function mountWebApp(app: express.Express, deps: HttpAppDeps): void {
  app.use(webPageSecurityHeaders(deps.publicUrl));
  const indexHtml = deps.webAppDir ? join(deps.webAppDir, 'index.html') : null;
  if (deps.webAppDir && indexHtml && existsSync(indexHtml)) {
    // Asset names carry a content hash: cached for good. index.html is always revalidated.
    app.use('/assets', express.static(join(deps.webAppDir, 'assets'), { immutable: true, maxAge: '1y' }));
    app.use(express.static(deps.webAppDir, { index: false, maxAge: '1h' }));
    app.get(WEB_APP_ROUTES, (_req, res) => {
      res.set('Cache-Control', 'no-cache').sendFile(indexHtml);
    });
  } else {
    app.get(WEB_APP_ROUTES, (_req, res) => {
      res.status(503).type('text/plain').send('The web app is not built: run `npm run build:web` (npm install does it), then reload.');
    });
  }
}

/** Errors of body parsing and anything unexpected: a clear status, never internals. */
function errorHandler(logger: Logger): express.ErrorRequestHandler {
  return (error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = (error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode ?? 500;
    const type = (error as { type?: string }).type;
    if (status >= 500) logger.error({ err: error, requestId: req.headers['x-request-id'] }, 'unhandled HTTP error');
    const message =
      type === 'entity.too.large'
        ? 'request body too large'
        : type === 'entity.parse.failed'
          ? 'malformed JSON body'
          : status < 500
            ? 'bad request'
            : 'internal server error';
    const code: HttpRouteErrorCode =
      type === 'entity.too.large' ? 'PAYLOAD_TOO_LARGE' : status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR';
    if (req.path.startsWith('/graphql')) res.status(status).json({ errors: [{ message, extensions: { code } }] });
    else refuse(res, code, message, status);
  };
}

/**
 * Requests that Node's HTTP parser refuses before express sees them (headers over 16 kB,
 * malformed request lines) get the same JSON error body as every other refusal.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [code, message]: [HttpRouteErrorCode, string] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'request headers too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['REQUEST_TIMEOUT', 'the request took too long to arrive']
          : ['BAD_REQUEST', 'malformed HTTP request'];
    const status = httpErrorStatus(code);
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
