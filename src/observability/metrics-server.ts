// The metrics listener (ATELIER_METRICS_PORT): a port of its own that serves GET /metrics and
// nothing else, without a token, bound to loopback unless ATELIER_METRICS_HOST says otherwise;
// for a Prometheus on the same machine or network, never for the public. The main port serves
// /metrics only to the operator token (src/http/http-app.ts).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics';
import type { Logger } from './logger';

export interface MetricsServer {
  /** http://host:port of the listener. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: {
  metrics: Metrics;
  port: number;
  host: string;
  logger: Logger;
}): Promise<MetricsServer> {
  const { metrics, logger } = options;
  const answer = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
    res.end(JSON.stringify({ error: { code, message } }));
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return answer(res, 404, 'NOT_FOUND', 'only /metrics is served here');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return answer(res, 405, 'METHOD_NOT_ALLOWED', 'only GET and HEAD are served here');
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'collecting metrics failed');
        answer(res, 500, 'INTERNAL_SERVER_ERROR', 'collecting metrics failed');
      },
    );
  });
  // Scrapes are small and quick: a slow or idle client is not kept.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
