// Process entry point. `npm start`: the API and a worker in one process; `npm run start:api`
// / `npm run start:worker` (argument api / worker): one role each, which needs REDIS_URL
// (the queue and pub/sub they share). Bad configuration stops start-up with one line.
import { ConfigError, loadConfig, type Config } from './config';
import { startServer, type Role } from './app';

function parseRole(arg: string | undefined): Role {
  if (arg === undefined || arg === 'all') return 'all';
  if (arg === 'api' || arg === 'worker') return arg;
  process.stderr.write(`unknown role ${JSON.stringify(arg)}: use api, worker or nothing (both)\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  // Everything this process creates (the data directory, PGlite's files, blobs, secrets) is
  // private to its user: see src/main/data-dir.ts.
  process.umask(0o077);
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
  const role = parseRole(process.argv[2]);
  if (role !== 'all' && !config.redisUrl) {
    process.stderr.write(
      `invalid configuration: REDIS_URL is required to run the ${role} alone (API and workers share the queue through Redis)\n`,
    );
    process.exit(2);
  }
  const server = await startServer(config, { role });
  const lines =
    role === 'worker'
      ? [`Atelier worker running (model ${server.engine?.model.id})`]
      : [
          `Atelier is serving GraphQL at ${server.url}/graphql (WebSocket: ${server.url.replace(/^http/, 'ws')}/graphql)`,
          `Web app: ${server.url}/ (shopper try-on), ${server.url}/catalog (retailer catalog)`,
        ];
  // Secrets are printed once, by the start that creates them; later starts say where they are
  // kept (logs and terminals are often read by more people than the data directory).
  if (server.adminTokenFile) {
    lines.push(
      server.adminTokenGenerated
        ? `Operator token (createTenant): ${server.adminToken} (generated now, shown this once; kept in ${server.adminTokenFile})`
        : `Operator token (createTenant): kept in ${server.adminTokenFile}`,
    );
  }
  if (server.demo) {
    lines.push(
      `Demo tenant${server.demo.created ? ' created' : ''}: open ${server.url}/ to try garments on a sample person;`,
      server.demo.created
        ? `  sign in to ${server.url}/catalog with its API key: ${server.demo.apiKey} (shown this once; kept in ${server.demo.keptAt})`
        : `  sign in to ${server.url}/catalog with its API key, kept in ${server.demo.keptAt}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down: draining HTTP and WebSocket');
    // Keeps the process alive while it drains, and bounds the wait.
    setTimeout(() => {
      server.logger.error('shutdown took over 30 s; exiting');
      process.exit(1);
    }, 30_000);
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
