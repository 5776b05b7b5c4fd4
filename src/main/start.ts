// Process entry point. `npm start`: the API and a worker in one process, over one platform;
// `npm run start:api` / `npm run start:worker` (argument api / worker): one role each, which
// needs REDIS_URL (the queue and pub/sub they share). Bad configuration stops start-up with one line.
import { ConfigError, loadConfig, type Config } from './config';
import { openPlatform, startServices, type Platform, type Role } from './platform';
import { listen, publicUrlOf, startApi, type ApiProcess } from './api-process';
import { startWorker, type WorkerProcess } from './worker-process';

function parseRole(arg: string | undefined): Role {
  if (arg === undefined || arg === 'all') return 'all';
  if (arg === 'api' || arg === 'worker') return arg;
  process.stderr.write(`unknown role ${JSON.stringify(arg)}: use api, worker or nothing (both)\n`);
  process.exit(2);
}

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

interface RunningProcess {
  platform: Platform;
  api: ApiProcess | null;
  worker: WorkerProcess | null;
  /** Drains HTTP and WebSocket, stops the worker, then closes the platform (the database last but one). */
  close(): Promise<void>;
}

/** The composition: the platform, the API's socket, the services, the worker, then the API. */
async function startProcess(config: Config, role: Role): Promise<RunningProcess> {
  const platform = await openPlatform(config);
  const listener = role === 'worker' ? null : await listen(config);
  const shared = await startServices(platform, publicUrlOf(config, listener));
  const worker = role === 'api' ? null : await startWorker(platform, shared.services);
  const api = listener ? await startApi(platform, shared.services, listener) : null;
  return {
    platform,
    api,
    worker,
    async close() {
      const step = async (name: string, work: () => Promise<void> | undefined) => {
        await work();
        platform.logger.debug({ step: name }, 'shutdown step done');
      };
      await step('http and websocket', () => api?.close());
      await step('worker', () => worker?.close());
      await step('services', () => shared.close());
      await step('platform', () => platform.close());
    },
  };
}

/** What the terminal is told once started. Secrets are printed once, by the start that creates them. */
function banner({ platform, api, worker }: RunningProcess): string[] {
  const lines = api
    ? [
        `Atelier is serving GraphQL at ${api.url}/graphql (WebSocket: ${api.url.replace(/^http/, 'ws')}/graphql)`,
        `Web app: ${api.url}/ (shopper try-on), ${api.url}/catalog (retailer catalog)`,
      ]
    : [`Atelier worker running (model ${worker?.engine.model.id})`];
  // Later starts say where secrets are kept (logs and terminals are often read by more people than the data directory).
  const { adminToken, adminTokenFile, adminTokenGenerated } = platform.secrets;
  if (adminTokenFile) {
    lines.push(
      adminTokenGenerated
        ? `Operator token (createTenant): ${adminToken} (generated now, shown this once; kept in ${adminTokenFile})`
        : `Operator token (createTenant): kept in ${adminTokenFile}`,
    );
  }
  const demo = api?.demo;
  if (api && demo) {
    lines.push(
      `Demo tenant${demo.created ? ' created' : ''}: open ${api.url}/ to try garments on a sample person;`,
      demo.created
        ? `  sign in to ${api.url}/catalog with its API key: ${demo.apiKey} (shown this once; kept in ${demo.keptAt})`
        : `  sign in to ${api.url}/catalog with its API key, kept in ${demo.keptAt}`,
    );
  }
  return lines;
}

/** SIGTERM and SIGINT drain the process, within 30 s. */
function stopOnSignals(running: RunningProcess): void {
  const logger = running.platform.logger;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining HTTP and WebSocket');
    // Keeps the process alive while it drains, and bounds the wait.
    setTimeout(() => {
      logger.error('shutdown took over 30 s; exiting');
      process.exit(1);
    }, 30_000);
    running
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  // Everything this process creates (the data directory, PGlite's files, blobs, secrets) is
  // private to its user: see src/main/data-dir.ts.
  process.umask(0o077);
  const config = loadConfigOrExit();
  const role = parseRole(process.argv[2]);
  if (role !== 'all' && !config.redisUrl) {
    process.stderr.write(
      `invalid configuration: REDIS_URL is required to run the ${role} alone (API and workers share the queue through Redis)\n`,
    );
    process.exit(2);
  }
  const running = await startProcess(config, role);
  process.stdout.write(`${banner(running).join('\n')}\n`);
  stopOnSignals(running);
}

main().catch((error: unknown) => {
  process.stderr.write(`atelier failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
