// The GraphQL transports: Apollo Server over HTTP (express), and graphql-ws over WebSocket on
// the same path (ws-transport.ts), both executing the one schema with the same checks.
import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type express from 'express';
import { settlesWithin } from '../common/deadline';
import { AuthError, type Viewer } from '../auth/viewer';
import type { Services } from './kit/services';
import type { CatalogVersions } from '../garments/catalog-versions';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { schemaPath } from '../common/project-paths';
import { type ConnectionLimiter, QueryAnalyzer, type QueryLimits, type RateLimiter } from '../limits';
import { operationContext, type GraphQLContext, type PendingAnswer } from './kit/context';
import { resolvers } from './resolvers';
import { authGraphQLError, clientCodeOf, createErrorFormatter, isUnexpected, logUnexpected, maskError } from './errors';
import { OTHER_OPERATION } from '../observability/operation-labels';
import { createHttpGuard } from './http-guard';
import type { GraphQLRoutes } from '../http/http-app';
import { createWebSocketTransport, type WebSocketLimits } from './ws-transport';
import { CachePolicies } from './cache-policy';
import { AnswerCache, answerCacheMiddleware, answerCachePlugin } from './answer-cache';

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: readFileSync(schemaPath, 'utf8'), resolvers: resolvers as never });
}

/** How long in-flight HTTP requests may finish when the server stops. */
const DRAIN_MS = 10_000;

/** The HTTP app's GraphQL routes (http-app.ts), and the WebSocket endpoint on the same server. */
export interface GraphQLTransport extends GraphQLRoutes {
  /** Stops accepting requests and subscriptions, drains HTTP, closes every WebSocket and the HTTP server. */
  close(): Promise<void>;
}

/**
 * Counts operations, their durations and their errors by operation label (bounded: see
 * operation-labels.ts) and by the code the client got, so a refusal (FORBIDDEN, UNAUTHENTICATED)
 * is counted as such and only bugs and outages as INTERNAL_SERVER_ERROR. A token that does not
 * authenticate fails before any operation: counted as UNAUTHENTICATED of operation `other`.
 */
function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async contextCreationDidFail({ error }) {
      metrics.operationErrors.inc({ operation: OTHER_OPERATION, type: 'unknown', code: clientCodeOf(error) });
    },
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, operation, errors, contextValue }) {
          const authenticated = contextValue?.viewer !== undefined && contextValue.viewer.kind !== 'anonymous';
          const labels = {
            operation: metrics.operationLabels.label(operationName, authenticated),
            type: operation?.operation ?? 'unknown',
          };
          metrics.operations.inc(labels);
          metrics.operationSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          for (const error of errors ?? []) metrics.operationErrors.inc({ ...labels, code: clientCodeOf(error) });
        },
      };
    },
  };
}

/** Adds the operation's requested cost to every answer: extensions.cost { requested, maximum }. */
function costPlugin(analyzer: QueryAnalyzer): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      let requested: number | undefined;
      return {
        async didResolveOperation({ document, operation, request }) {
          if (operation) requested = analyzer.costOf(document, operation, request.variables);
        },
        async willSendResponse({ response }) {
          if (requested === undefined || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, cost: { requested, maximum: analyzer.limits.maxCost } };
        },
      };
    },
  };
}

/** Unexpected errors of an operation go to the log with the request id (clients see them masked). */
function errorLogPlugin(logger: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) if (isUnexpected(error)) logUnexpected(logger, error, contextValue.requestId, error.path);
        },
      };
    },
  };
}

export interface TransportLimits {
  query: QueryLimits;
  maxBatchSize: number;
  rateLimiter: RateLimiter;
  /** Open graphql-ws connections per caller key (in Redis when scaled out: across processes). */
  connectionLimiter: ConnectionLimiter;
  webSocket: WebSocketLimits;
}

/** The one way in: a token that authenticates gets a rate-limit bucket of its own from then on (and counts against its tenant's). */
function createVerifier(services: Services, rateLimiter: RateLimiter): (authorization: string | undefined) => Promise<Viewer> {
  return async (authorization) => {
    const viewer = await services.authenticator.authenticate(authorization);
    if (viewer.kind === 'apiKey' || viewer.kind === 'shopper') rateLimiter.trust(authorization, viewer.tenantId);
    return viewer;
  };
}

async function startApollo(
  schema: GraphQLSchema,
  analyzer: QueryAnalyzer,
  options: TransportOptions,
): Promise<ApolloServer<GraphQLContext>> {
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: options.limits.query.introspection,
    // Only what a client may see; the log line (with the request id) comes from errorLogPlugin.
    formatError: maskError,
    includeStacktraceInErrorResponses: false,
    // A request must be JSON or carry a custom header, so a browser cannot send it cross-site unasked.
    csrfPrevention: true,
    // Every operation must bring its query text, so the query limits always see it.
    persistedQueries: false,
    allowBatchedHttpRequests: options.limits.maxBatchSize > 1,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // The answer cache reads the @cacheControl hints from the document (cache-policy.ts), not
      // field by field; no Cache-Control headers, so no browser or proxy keeps a tenant's answers.
      ApolloServerPluginCacheControlDisabled(),
      metricsPlugin(options.metrics),
      costPlugin(analyzer),
      // After costPlugin: a kept answer carries its extensions.cost like any other.
      answerCachePlugin(new CachePolicies(schema)),
      errorLogPlugin(options.logger),
    ],
  });
  await apollo.start();
  return apollo;
}

/** Apollo's express middleware; each operation's context is built once, here. */
function apolloMiddleware(
  apollo: ApolloServer<GraphQLContext>,
  options: TransportOptions,
  verify: (authorization: string | undefined) => Promise<Viewer>,
): express.RequestHandler {
  const { services, logger } = options;
  return expressMiddleware(apollo, {
    context: async ({ req, res }) => {
      const requestId = String(req.headers['x-request-id'] ?? randomUUID());
      try {
        // The same request's authentication may have started already (the answer cache's).
        const pending = res.locals['viewer'] as Promise<Viewer> | undefined;
        const viewer = await (pending ?? verify(req.headers.authorization)).catch((error: unknown) => {
          throw error instanceof AuthError ? authGraphQLError(error) : error;
        });
        return operationContext(services, viewer, requestId, res.locals['answer'] as PendingAnswer | undefined);
      } catch (error) {
        if (!(error instanceof GraphQLError)) logUnexpected(logger, error, requestId);
        throw error;
      }
    },
  });
}

export interface TransportOptions {
  /** The server the WebSocket endpoint attaches to (the same /graphql path). */
  httpServer: HttpServer;
  services: Services;
  catalogVersions: CatalogVersions;
  logger: Logger;
  metrics: Metrics;
  limits: TransportLimits;
}

export async function createGraphQLTransport(options: TransportOptions): Promise<GraphQLTransport> {
  const { httpServer, services, logger, metrics, limits } = options;
  const schema = buildSchema();
  const analyzer = new QueryAnalyzer(schema, limits.query);
  const verify = createVerifier(services, limits.rateLimiter);
  const webSocket = createWebSocketTransport({
    httpServer,
    schema,
    analyzer,
    services,
    rateLimiter: limits.rateLimiter,
    connectionLimiter: limits.connectionLimiter,
    limits: limits.webSocket,
    metrics,
    formatError: createErrorFormatter(logger),
    verify,
  });
  const apollo = await startApollo(schema, analyzer, options);
  const apolloHandler = apolloMiddleware(apollo, options, verify);
  const guard = createHttpGuard({ analyzer, rateLimiter: limits.rateLimiter, maxBatchSize: limits.maxBatchSize, metrics });
  const answered = answerCacheMiddleware(new AnswerCache(options.catalogVersions), verify, metrics);
  const middleware: express.RequestHandler = (req, res, next) => {
    guard.afterBody(req, res, (error?: unknown) => {
      if (error) return next(error);
      answered(req, res, (missed?: unknown) => {
        if (missed) next(missed);
        else void apolloHandler(req, res, next);
      });
    });
  };

  return {
    beforeBody: guard.beforeBody,
    rateLimit: guard.rateLimit,
    middleware,
    async close() {
      // Refuse new connections, finish requests in flight (at most DRAIN_MS), close sockets.
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      await webSocket.close();
      const force = setTimeout(() => httpServer.closeAllConnections(), DRAIN_MS);
      await closed;
      clearTimeout(force);
      // Nothing reaches Apollo any more; its own stop has been seen to wait indefinitely after
      // renders ran (not yet understood), so it gets a bounded time.
      await settlesWithin(apollo.stop(), 2_000);
    },
  };
}
