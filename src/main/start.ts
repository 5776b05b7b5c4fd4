// `npm start`: the API (and, on the embedded default, the render worker) in one process.
// Bad configuration stops start-up with one line naming the variable.
import { ConfigError, loadConfig, type Config } from './config';
import { startServer } from './app';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const server = await startServer(config);
  const lines = [`Atelier is serving GraphQL at ${server.url}/graphql (WebSocket: ${server.url.replace(/^http/, 'ws')}/graphql)`];
  if (!config.databaseUrl && server.adminToken) lines.push(`Operator token (createTenant): ${server.adminToken}`);
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down: draining HTTP and WebSocket');
    server
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`atelier failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
