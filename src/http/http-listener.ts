// The API's listening socket, bound before the rest of the API is built so that its address (the
// public URL's default) is a value known to everything built after it. Until `serve` is called,
// every request is answered 503 (the app is not mounted yet); WebSocket upgrades are refused.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createExpressServer } from './express-server';
import { answerClientErrors } from './http-app';
import { continueOnlyWhenRead } from './request-body';
import { httpErrorStatus, type HttpRouteErrorCode } from './error-codes';

export interface HttpListener {
  server: Server;
  /** The express application the routes are mounted on (http-app.ts), created with the server. */
  app: express.Express;
  /** The bound port (the configured one, or the one chosen for port 0). */
  port: number;
  /** Hands every request from now on to the app. */
  serve(): void;
}

function startingUp(_req: IncomingMessage, res: ServerResponse): void {
  const code: HttpRouteErrorCode = 'SERVICE_UNAVAILABLE';
  const body = JSON.stringify({ error: { code, message: 'starting up; retry shortly' } });
  res.writeHead(httpErrorStatus(code), { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '1' }).end(body);
}

export async function bindHttpListener(port: number, host: string): Promise<HttpListener> {
  const app = express();
  const server = createExpressServer(app, startingUp);
  answerClientErrors(server);
  continueOnlyWhenRead(server);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  return {
    server,
    app,
    port: (server.address() as AddressInfo).port,
    serve() {
      server.off('request', startingUp);
      server.on('request', app);
    },
  };
}
