// The GraphQL transports: Apollo Server over HTTP (express) and graphql-ws over WebSocket
// on the same path, both executing the one schema with the same context.
import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, getOperationAST, getVariableValues, parse, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type express from 'express';
import { AuthError, type Viewer } from '../auth/viewer';
import type { Services } from '../main/services';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { schemaPath } from '../main/paths';
import type { GraphQLContext } from './context';
import { createLoaders } from './loaders';
import { resolvers } from './resolvers';
import { authGraphQLError, createErrorFormatter } from './errors';

/**
 * Parses, validates and coerces the variables of a graphql-ws subscribe message, so that
 * its refusals carry the codes they get over HTTP (graphql-ws alone closes the socket on a
 * syntax error and reports the others without a code, which would read as internal errors).
 */
export function prepareOperation(schema: GraphQLSchema, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }): ExecutionArgs | readonly GraphQLError[] {
  const refused = (errors: readonly GraphQLError[], code: string) =>
    errors.map((error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code } }));
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (error) {
    if (error instanceof GraphQLError) return refused([error], 'GRAPHQL_PARSE_FAILED');
    throw error;
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0) return refused(invalid, 'GRAPHQL_VALIDATION_FAILED');
  const operation = getOperationAST(document, payload.operationName);
  if (!operation) return [new GraphQLError('Unable to identify the operation to run', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
  const variables = payload.variables ?? {};
  if (typeof variables !== 'object' || Array.isArray(variables)) {
    return [new GraphQLError('variables must be an object', { extensions: { code: 'BAD_USER_INPUT' } })];
  }
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) return refused(coerced.errors, 'BAD_USER_INPUT');
  return { schema, document, operationName: payload.operationName, variableValues: variables };
}

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: readFileSync(schemaPath, 'utf8'), resolvers: resolvers as never });
}

/** How long in-flight HTTP requests may finish when the server stops. */
const DRAIN_MS = 10_000;

export interface GraphQLTransport {
  middleware: express.RequestHandler;
  /** Stops accepting requests and subscriptions, drains HTTP, closes every WebSocket and the HTTP server. */
  close(): Promise<void>;
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, operation, errors }) {
          const labels = { operation: operationName ?? 'anonymous', type: operation?.operation ?? 'unknown' };
          metrics.operations.inc(labels);
          metrics.operationSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          for (const error of errors ?? []) {
            metrics.operationErrors.inc({ ...labels, code: String(error.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR') });
          }
        },
      };
    },
  };
}

export async function createGraphQLTransport(options: {
  httpServer: HttpServer;
  services: Services;
  logger: Logger;
  metrics: Metrics;
  introspection: boolean;
}): Promise<GraphQLTransport> {
  const { httpServer, services, logger, metrics } = options;
  const schema = buildSchema();

  async function authenticate(authorization: unknown): Promise<Viewer> {
    try {
      return await services.authenticator.authenticate(typeof authorization === 'string' ? authorization : undefined);
    } catch (error) {
      if (error instanceof AuthError) throw authGraphQLError(error);
      throw error;
    }
  }

  const formatError = createErrorFormatter(logger);
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const wsCleanup = useServer<Record<string, unknown>, { viewer?: Viewer }>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          ctx.extra.viewer = await authenticate(ctx.connectionParams?.['authorization']);
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: (_ctx, _id, payload) => prepareOperation(schema, payload),
      // Errors over WebSocket get the same codes and masking as over HTTP.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error)),
      context: (ctx): GraphQLContext => {
        const viewer = ctx.extra.viewer ?? { kind: 'anonymous' };
        return { viewer, services, loaders: createLoaders(services, viewer), requestId: randomUUID() };
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: options.introspection,
    formatError,
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      metricsPlugin(metrics),
    ],
  });
  await apollo.start();

  const middleware = expressMiddleware(apollo, {
    context: async ({ req }) => {
      const viewer = await authenticate(req.headers.authorization);
      const requestId = String(req.headers['x-request-id'] ?? randomUUID());
      return { viewer, services, loaders: createLoaders(services, viewer), requestId };
    },
  });

  return {
    middleware,
    async close() {
      // Refuse new connections, finish requests in flight (at most DRAIN_MS), close sockets.
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      await wsCleanup.dispose();
      const force = setTimeout(() => httpServer.closeAllConnections(), DRAIN_MS);
      await closed;
      clearTimeout(force);
      // Nothing reaches Apollo any more; its own stop has been seen to wait indefinitely after
      // renders ran (not yet understood), so it gets a bounded time.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([apollo.stop(), new Promise<void>((resolve) => (bound = setTimeout(resolve, 2_000)))]);
      clearTimeout(bound);
    },
  };
}
