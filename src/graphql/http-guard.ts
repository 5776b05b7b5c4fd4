// What an HTTP GraphQL request must pass before Apollo sees it (and before its context
// authenticates against the database): the caller's rate limit and the method (before the
// body is even read: any method but GET and POST is a 405), the batch size, and every
// operation's query limits. Refusals are answered here, in GraphQL's error shape.
import type express from 'express';
import { rateLimitMessage, refusalJson, type OperationRequest, type QueryAnalyzer, type QueryRefusal, type RateLimiter } from '../limits';
import type { Metrics } from '../observability/metrics';
import { closeIfBodyUnread } from '../http/request-body';
import type { GraphQLErrorCode, HttpRouteErrorCode } from '../http/error-codes';

export interface HttpGuardOptions {
  analyzer: QueryAnalyzer;
  rateLimiter: RateLimiter;
  /** Most operations in one batched request; 1: batches are refused. */
  maxBatchSize: number;
  metrics: Metrics;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function variablesOf(value: unknown): Record<string, unknown> | null {
  if (isRecord(value)) return value;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      return isRecord(parsed) ? parsed : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The operations of a request; an entry is null when Apollo will refuse it anyway (no query string). */
function operationsOf(req: express.Request): (OperationRequest | null)[] | null {
  const toOperation = (raw: unknown): OperationRequest | null => {
    if (!isRecord(raw) || typeof raw['query'] !== 'string') return null;
    return {
      query: raw['query'],
      variables: variablesOf(raw['variables']),
      operationName: typeof raw['operationName'] === 'string' ? raw['operationName'] : null,
    };
  };
  if (req.method === 'GET') return [toOperation(req.query)];
  if (req.method !== 'POST') return null;
  const body: unknown = req.body;
  return Array.isArray(body) ? body.map(toOperation) : [toOperation(body)];
}

export interface HttpGuard {
  /** Takes one request from the caller's bucket (other routes that cost work: /demo/session, /metrics). */
  rateLimit: express.RequestHandler;
  /** Before the body is parsed: takes one request from the caller's bucket, whatever the method; then 405 for any but GET and POST. */
  beforeBody: express.RequestHandler;
  /** After: the batch size (a batch takes one more per extra operation) and the query limits. */
  afterBody: express.RequestHandler;
}

export function createHttpGuard(options: HttpGuardOptions): HttpGuard {
  const { analyzer, rateLimiter, maxBatchSize, metrics } = options;
  const refuse = (res: express.Response, status: number, code: GraphQLErrorCode | HttpRouteErrorCode, errors: object[]) => {
    metrics.refusals.inc({ transport: 'http', code });
    closeIfBodyUnread(res.req, res);
    res.status(status).json({ errors });
  };
  const take = (req: express.Request, res: express.Response, count: number): Promise<boolean> =>
    rateLimiter.take(rateLimiter.callerOf(req.headers.authorization, req.socket.remoteAddress), count).then((decision) => {
      if (decision.allowed) return true;
      res.setHeader('Retry-After', String(Math.ceil(decision.retryAfterMs / 1000)));
      refuse(res, 429, 'RATE_LIMITED', [
        { message: rateLimitMessage(decision.retryAfterMs), extensions: { code: 'RATE_LIMITED', retryAfterMs: decision.retryAfterMs } },
      ]);
      return false;
    });

  const rateLimit: express.RequestHandler = (req, res, next) => {
    take(req, res, 1)
      .then((allowed) => allowed && next())
      .catch(next);
  };

  // Every method takes from the bucket; then any but GET and POST is refused, its body unread.
  const beforeBody: express.RequestHandler = (req, res, next) => {
    take(req, res, 1)
      .then((allowed) => {
        if (!allowed) return;
        if (req.method === 'GET' || req.method === 'POST') {
          next();
          return;
        }
        res.setHeader('Allow', 'GET, POST');
        refuse(res, 405, 'METHOD_NOT_ALLOWED', [
          {
            message: `${req.method.slice(0, 20)} is not served here: send GraphQL requests with GET or POST`,
            extensions: { code: 'METHOD_NOT_ALLOWED' },
          },
        ]);
      })
      .catch(next);
  };

  const afterBody: express.RequestHandler = (req, res, next) => {
    const operations = operationsOf(req);
    if (!operations) {
      next();
      return;
    }
    if (Array.isArray(req.body) && operations.length > maxBatchSize) {
      const message =
        maxBatchSize === 1
          ? 'batched requests are not accepted: send one operation per request'
          : `a batch holds at most ${maxBatchSize} operations; this one has ${operations.length}`;
      refuse(res, 400, 'BATCH_TOO_LARGE', [{ message, extensions: { code: 'BATCH_TOO_LARGE', limit: maxBatchSize } }]);
      return;
    }
    (operations.length > 1 ? take(req, res, operations.length - 1) : Promise.resolve(true))
      .then((allowed) => {
        if (!allowed) return;
        const refusals: QueryRefusal[] = [];
        operations.forEach((operation, index) => {
          if (!operation) return;
          const analysis = analyzer.analyze(operation);
          if (analysis.ok) return;
          for (const refusal of analysis.refusals) {
            refusals.push(operations.length > 1 ? { ...refusal, message: `operation ${index}: ${refusal.message}` } : refusal);
          }
        });
        if (refusals.length > 0) {
          refuse(res, 400, refusals[0]!.code, refusals.map(refusalJson));
          return;
        }
        next();
      })
      .catch(next);
  };

  return { rateLimit, beforeBody, afterBody };
}
