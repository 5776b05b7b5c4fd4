// Request bodies are read only once a request passed every check that needs no body (its
// method, its rate limit, an upload's link and declared length). These helpers say what a
// request declares, send "100 Continue" only to requests about to be read, and make sure a
// refusal does not leave the server reading (and discarding) a body nobody wants.
import type { Server } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type express from 'express';

/** The Content-Length the request declares (Node's parser checked its form); null without one (a chunked body). */
export function declaredLength(req: express.Request): number | null {
  if (req.headers['transfer-encoding'] !== undefined) return null;
  const header = req.headers['content-length'];
  if (header === undefined) return 0;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : null;
}

/**
 * Bodies up to this size that a refusal leaves unread are read and discarded by Node, keeping
 * the connection: a flood of small refused requests (429s) would otherwise cost a new
 * connection each, which measured far dearer than discarding their bytes.
 */
export const DISCARDED_BODY_BYTES = 64 * 1024;

/**
 * For an answer given without reading the body: when the body is large or of unknown length
 * (chunked), the connection closes after the answer, so Node does not go on reading (and
 * discarding) what the client may still be sending.
 */
export function closeIfBodyUnread(req: express.Request, res: express.Response): void {
  if (req.complete || res.headersSent) return;
  const length = declaredLength(req);
  if (length === null || length > DISCARDED_BODY_BYTES) res.setHeader('Connection', 'close');
}

/**
 * The request's body as a stream of its own, for a consumer that destroys what it reads on
 * failure (BlobStore.putStream): a store that fails leaves the request alone, so it can still
 * be answered (and its connection closed); a client gone mid-body fails the stream.
 */
export function detachedBody(req: express.Request): Readable {
  const body = new PassThrough();
  const goneError = () => new Error('the client closed the connection before the body ended');
  // Gone already (while the request was being checked): its 'close' has fired.
  if (req.destroyed && !req.complete) return body.destroy(goneError());
  const gone = () => {
    if (!req.complete) body.destroy(goneError());
  };
  req.once('close', gone);
  req.once('error', (error) => body.destroy(error));
  body.once('close', () => req.off('close', gone));
  return req.pipe(body);
}

/** Tells a client waiting on "Expect: 100-continue" to send its body; placed just before a body is read. */
export const continueBody: express.RequestHandler = (req, res, next) => {
  sendContinue(req, res);
  next();
};

export function sendContinue(req: express.Request, res: express.Response): void {
  if (!expectsContinue(req) || res.headersSent) return;
  res.writeContinue();
  // The body will be read: the connection may be kept (see closeUnlessContinued).
  res.removeHeader('Connection');
}

function expectsContinue(req: express.Request): boolean {
  return /^100-continue$/i.test(req.headers.expect ?? '');
}

/**
 * First in the app: a request waiting for 100 Continue that is answered without it has not
 * sent its body, so the connection cannot carry another request (its next bytes might be that
 * body after all): it closes after the answer, unless sendContinue let the body come.
 */
export const closeUnlessContinued: express.RequestHandler = (req, res, next) => {
  if (expectsContinue(req)) res.setHeader('Connection', 'close');
  next();
};

/**
 * Node answers "Expect: 100-continue" itself, before any route has looked at the request; so
 * the server hands such requests to the app like any other, and the app sends 100 Continue
 * (continueBody, sendContinue) only when it is about to read the body. A refused upload then
 * never asks the client for its bytes.
 */
export function continueOnlyWhenRead(server: Server): void {
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
}
