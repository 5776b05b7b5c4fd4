// The HTTP server for the express application. Express gives every request and response its
// own prototype (Object.setPrototypeOf on each IncomingMessage and ServerResponse); V8 handles
// objects whose prototype changed after creation slowly, and the young-generation collector
// then keeps most of every request alive until a full collection. Measured on this machine with
// 64 connections: about half the throughput and 3x the scavenge time of the same app whose
// objects are born with express's prototypes. So the server creates them that way: express's
// own setPrototypeOf then finds the prototype already in place and changes nothing.
import { createServer, IncomingMessage, ServerResponse, type RequestListener, type Server } from 'node:http';
import type express from 'express';

/** `handler`: what answers requests (default: the app itself; http-listener.ts answers 503 until the app is mounted). */
export function createExpressServer(app: express.Express, handler: RequestListener = app): Server {
  class AppRequest extends IncomingMessage {}
  Object.setPrototypeOf(AppRequest.prototype, app.request);
  app.request = AppRequest.prototype as unknown as express.Request;

  class AppResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {}
  Object.setPrototypeOf(AppResponse.prototype, app.response);
  app.response = AppResponse.prototype as unknown as express.Response;

  return createServer({ IncomingMessage: AppRequest, ServerResponse: AppResponse }, handler);
}
