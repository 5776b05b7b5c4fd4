// The graphql-ws adapter: WebSocket connections on /graphql executing the one schema with the
// same checks as HTTP. A connection authenticates at connection_init, and then every operation
// on it is authorised again as an HTTP request would be at that moment (the API key cache may
// answer). A connection whose API key is revoked (in any API process: the revocation is
// announced over pub/sub) or whose shopper session expires is closed, its subscriptions ended;
// every connection is closed once it has lived ATELIER_WS_MAX_LIFETIME_S.
import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import {
  GraphQLError,
  getOperationAST,
  getVariableValues,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { AuthError, type Viewer } from '../auth/viewer';
import type { ApiKeyRevoked } from '../auth/api-key-revocations';
import type { Services } from './kit/services';
import type { Metrics } from '../observability/metrics';
import {
  type ConnectionLease,
  type ConnectionLimiter,
  type QueryAnalyzer,
  rateLimitedError,
  refusalError,
  type Caller,
  type RateLimiter,
} from '../limits';
import { operationContext } from './kit/context';
import { authGraphQLError } from './errors';

/** The close codes this server uses besides graphql-ws's own protocol errors (README, Limits). */
export const WS_CLOSE = {
  /**
   * graphql-ws's Forbidden: the credential was refused at connection_init, or is no longer
   * valid (its API key revoked, its shopper session expired). Reconnecting with the same
   * credential is refused the same way; graphql-ws clients retry it, so a client that fetches
   * a new token in connectionParams picks it up.
   */
  credentialRefused: 4403,
  /** The connection reached ATELIER_WS_MAX_LIFETIME_S; reconnect (graphql-ws clients do). */
  lifetimeReached: 4410,
  /** A limit: the rate limit at connection_init, or too many connections for the token. */
  limited: 4429,
} as const;

/** After a close frame, how long a peer that does not answer it keeps the connection (and its subscriptions). */
const CLOSE_GRACE_MS = 2_000;
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * graphql-ws executes with the variables as sent; a missing or mistyped one would surface as an
 * execution error without a code. Checked before execution, it is BAD_USER_INPUT as over HTTP.
 */
export function variableErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null,
  variables: unknown,
): GraphQLError[] | null {
  const given = variables ?? {};
  if (typeof given !== 'object' || Array.isArray(given))
    return [new GraphQLError('variables must be an object', { extensions: { code: 'BAD_USER_INPUT' } })];
  const operation = getOperationAST(document, operationName);
  if (!operation)
    return [new GraphQLError('Unable to identify the operation to run', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], given as Record<string, unknown>);
  return coerced.errors
    ? coerced.errors.map((error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'BAD_USER_INPUT' } }))
    : null;
}

/** What one graphql-ws connection may do (ATELIER_WS_*). */
export interface WebSocketLimits {
  maxConnectionsPerToken: number;
  maxSubscriptionsPerConnection: number;
  maxMessageBytes: number;
  initTimeoutMs: number;
  /** A connection is closed (4410) this long after it was accepted. */
  maxLifetimeMs: number;
}

/** What a graphql-ws connection carries between its hooks. */
type WsExtra = {
  /** The credential as sent in connectionParams, authenticated again for every operation. */
  authorization?: string;
  caller?: Caller;
  /** Held while the connection counts against its caller's connection limit. */
  lease?: ConnectionLease;
  /** Per running operation id: its request id (logs) and cost (extensions.cost). */
  operations?: Map<string, { requestId: string; cost: number }>;
  /** Stops the connection's timers and drops it from the revocation index. */
  forget?: () => void;
};

export interface WebSocketTransportOptions {
  httpServer: HttpServer;
  schema: GraphQLSchema;
  analyzer: QueryAnalyzer;
  services: Services;
  rateLimiter: RateLimiter;
  /** Open graphql-ws connections per caller key (in Redis when scaled out: across processes). */
  connectionLimiter: ConnectionLimiter;
  limits: WebSocketLimits;
  metrics: Metrics;
  /** The same formatting as HTTP: refusals keep their code, the rest is masked and logged. */
  formatError: (formatted: GraphQLFormattedError, error: unknown, requestId: string) => GraphQLFormattedError;
  /** Authenticates a token at connection_init (and gives it its own rate-limit bucket); throws AuthError. */
  verify: (authorization: string | undefined) => Promise<Viewer>;
}

export interface WebSocketTransport {
  /** Closes every connection (1001) and stops accepting new ones. */
  close(): Promise<void>;
}

/**
 * Closes a socket, ending its subscriptions; a peer that does not answer the close frame is
 * cut off. False when it was closing already (a revocation heard twice closes it once).
 */
function closeSocket(socket: WebSocket, code: number, reason: string): boolean {
  if (socket.readyState !== socket.OPEN) return false;
  socket.close(code, reason.slice(0, 120));
  const cutOff = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
  socket.once('close', () => clearTimeout(cutOff));
  return true;
}

type Refused = (code: string) => void;

/**
 * The open connections: each closes when its lifetime ends or its shopper session expires, and
 * the connections of an API key close at once when it is revoked. `track` indexes an accepted
 * connection and starts its timers, and returns what undoes both.
 */
function connectionTracker(services: Services, limits: WebSocketLimits, wsRefused: Refused) {
  const byApiKey = new Map<string, Set<WebSocket>>();
  const keyOf = (tenantId: string, apiKeyId: string) => `${tenantId}/${apiKeyId}`;
  const stop = services.authenticator.onApiKeyRevoked((event: ApiKeyRevoked) => {
    for (const socket of byApiKey.get(keyOf(event.tenantId, event.apiKeyId)) ?? []) {
      if (closeSocket(socket, WS_CLOSE.credentialRefused, 'UNAUTHENTICATED: the API key was revoked')) wsRefused('CREDENTIAL_REVOKED');
    }
  });
  function track(socket: WebSocket, viewer: Viewer): () => void {
    const lifetime = Math.min(limits.maxLifetimeMs, MAX_TIMER_MS);
    const timers = [setTimeout(() => closeSocket(socket, WS_CLOSE.lifetimeReached, 'connection lifetime reached: reconnect'), lifetime)];
    if (viewer.kind === 'shopper') {
      const left = Math.max(0, Math.min(viewer.expiresAt.getTime() - Date.now(), MAX_TIMER_MS));
      const expire = () => {
        if (closeSocket(socket, WS_CLOSE.credentialRefused, 'UNAUTHENTICATED: the shopper session has expired'))
          wsRefused('SESSION_EXPIRED');
      };
      timers.push(setTimeout(expire, left));
    }
    const key = viewer.kind === 'apiKey' ? keyOf(viewer.tenantId, viewer.apiKeyId) : null;
    if (key !== null) {
      let sockets = byApiKey.get(key);
      if (!sockets) byApiKey.set(key, (sockets = new Set()));
      sockets.add(socket);
    }
    return () => {
      for (const timer of timers) clearTimeout(timer);
      if (key === null) return;
      const sockets = byApiKey.get(key);
      sockets?.delete(socket);
      if (sockets?.size === 0) byApiKey.delete(key);
    };
  }
  return { track, stop };
}

/** graphql-ws's server options, whose hooks are built below. */
type WsServerOptions = NonNullable<Parameters<typeof useServer<Record<string, unknown>, WsExtra>>[0]>;

/** connection_init: the rate limit, authentication, then the connection limit. */
function onConnect(
  options: WebSocketTransportOptions,
  track: ReturnType<typeof connectionTracker>['track'],
  wsRefused: Refused,
): WsServerOptions['onConnect'] {
  const { rateLimiter, connectionLimiter: connections } = options;
  return async (ctx) => {
    const given = ctx.connectionParams?.['authorization'];
    const authorization = typeof given === 'string' ? given : undefined;
    const address = ctx.extra.request.socket.remoteAddress;
    // The rate limit first, from the token alone: a refused connection costs no database work.
    const decision = await rateLimiter.take(rateLimiter.callerOf(authorization, address));
    if (!decision.allowed) {
      wsRefused('RATE_LIMITED');
      closeSocket(ctx.extra.socket, WS_CLOSE.limited, `RATE_LIMITED: retry after ${decision.retryAfterMs} ms`);
      return false;
    }
    let viewer: Viewer;
    try {
      viewer = await options.verify(authorization);
    } catch {
      // graphql-ws closes with 4403 (WS_CLOSE.credentialRefused).
      return false;
    }
    // Authenticated: the token now has its own bucket, which its operations and its
    // connection limit count against.
    const caller = rateLimiter.callerOf(authorization, address);
    const lease = await connections.acquire(caller.key);
    if (lease === null) {
      wsRefused('TOO_MANY_CONNECTIONS');
      closeSocket(ctx.extra.socket, WS_CLOSE.limited, `TOO_MANY_CONNECTIONS: at most ${connections.maxPerKey} per token`);
      return false;
    }
    // Closed by the client meanwhile: onClose has run already, nothing would release it.
    if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) {
      lease.release();
      return false;
    }
    ctx.extra.authorization = authorization;
    ctx.extra.caller = caller;
    ctx.extra.lease = lease;
    ctx.extra.operations = new Map();
    ctx.extra.forget = track(ctx.extra.socket, viewer);
    return true;
  };
}

/**
 * An operation: the same checks as over HTTP (http-guard.ts), in the same order, then
 * authentication at this moment; the document parsed there is executed with the context built here.
 */
function onSubscribe(options: WebSocketTransportOptions, wsRefused: Refused): WsServerOptions['onSubscribe'] {
  const { schema, analyzer, services, rateLimiter, limits } = options;
  return async (ctx, id, payload) => {
    const refused = (code: string, errors: GraphQLError[]) => {
      wsRefused(code);
      return errors;
    };
    // ctx.subscriptions holds every operation of this connection in flight, this one included.
    if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
      return refused('TOO_MANY_SUBSCRIPTIONS', [
        new GraphQLError(`at most ${limits.maxSubscriptionsPerConnection} operations may run at once on one connection`, {
          extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: limits.maxSubscriptionsPerConnection },
        }),
      ]);
    }
    const decision = await rateLimiter.take(ctx.extra.caller ?? rateLimiter.callerOf(undefined, ctx.extra.request.socket.remoteAddress));
    if (!decision.allowed) return refused('RATE_LIMITED', [rateLimitedError(decision.retryAfterMs)]);
    const variables = payload.variables ?? null;
    const analysis = analyzer.analyze({ query: payload.query, variables, operationName: payload.operationName ?? null });
    if (!analysis.ok) return refused(analysis.refusals[0]!.code, analysis.refusals.map(refusalError));
    const invalidVariables = variableErrors(schema, analysis.document, payload.operationName ?? null, variables);
    if (invalidVariables) return refused('BAD_USER_INPUT', invalidVariables);
    const requestId = randomUUID();
    ctx.extra.operations?.set(id, { requestId, cost: analysis.cost });
    let viewer: Viewer;
    try {
      viewer = await services.authenticator.authenticate(ctx.extra.authorization);
    } catch (error) {
      if (!(error instanceof AuthError)) return [new GraphQLError('could not authenticate', { originalError: error as Error })];
      // The credential stopped being valid since connection_init: this operation is refused
      // and, once the refusal is sent, the connection is closed.
      const socket = ctx.extra.socket;
      setImmediate(() => closeSocket(socket, WS_CLOSE.credentialRefused, `UNAUTHENTICATED: ${error.message}`));
      return refused('UNAUTHENTICATED', [authGraphQLError(error)]);
    }
    const contextValue = operationContext(services, viewer, requestId);
    return { schema, document: analysis.document, operationName: payload.operationName ?? null, variableValues: variables, contextValue };
  };
}

export function createWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const { analyzer, services, limits, metrics, formatError } = options;
  const wsServer = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: limits.maxMessageBytes });
  const wsRefused = (code: string) => metrics.refusals.inc({ transport: 'websocket', code });
  const operationOf = (extra: WsExtra, id: string) => extra.operations?.get(id) ?? { requestId: id, cost: 0 };
  const connections = connectionTracker(services, limits, wsRefused);

  const cleanup = useServer<Record<string, unknown>, WsExtra>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: limits.initTimeoutMs,
      onConnect: onConnect(options, connections.track, wsRefused),
      onClose: (ctx) => {
        ctx.extra.forget?.();
        ctx.extra.forget = undefined;
        ctx.extra.lease?.release();
        ctx.extra.lease = undefined;
      },
      onSubscribe: onSubscribe(options, wsRefused),
      // Errors over WebSocket get the same codes and masking as over HTTP; results carry their cost.
      onNext: (ctx, id, _payload, _args, result) => {
        const operation = operationOf(ctx.extra, id);
        return {
          ...result,
          ...(result.errors ? { errors: result.errors.map((error) => formatError(error.toJSON(), error, operation.requestId)) } : {}),
          extensions: { ...result.extensions, cost: { requested: operation.cost, maximum: analyzer.limits.maxCost } },
        };
      },
      onError: (ctx, id, _payload, errors) => {
        const { requestId } = operationOf(ctx.extra, id);
        ctx.extra.operations?.delete(id);
        return errors.map((error) => formatError(error.toJSON(), error, requestId));
      },
      onComplete: (ctx, id) => {
        ctx.extra.operations?.delete(id);
      },
    },
    wsServer,
  );

  return {
    async close() {
      connections.stop();
      await cleanup.dispose();
    },
  };
}
