// The composition root: builds every part from the configuration, in one place, and
// starts the HTTP + WebSocket server. Nothing else creates long-lived objects.
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openDatabase, type Database, type DatabaseTarget } from '../db/database';
import { FileBlobStore, UrlSigner } from '../blobs';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import { createHttpApp } from '../http/http-app';
import { createGraphQLTransport, type GraphQLTransport } from '../graphql/server';
import type { Config } from './config';
import { loadSecrets } from './secrets';
import { createServices, type Services } from './services';
import { projectRoot } from './paths';

export interface AtelierServer {
  url: string;
  port: number;
  adminToken: string | undefined;
  services: Services;
  db: Database;
  logger: Logger;
  /** Drains HTTP and WebSocket, then closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Overrides the database chosen by the config (tests use an in-memory PGlite). */
  database?: DatabaseTarget;
  logger?: Logger;
}

/** Derives a purpose-specific key so one configured secret never signs two kinds of thing. */
function derive(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(purpose).digest('base64url');
}

/** "name@version" of the model package, or a placeholder when none is installed. */
export function modelId(modelDir: string): string {
  const manifestPath = join(resolve(projectRoot, modelDir), 'manifest.json');
  if (!existsSync(manifestPath)) return 'tryon-tiny@1';
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string; version: string };
  return `${manifest.name}@${manifest.version}`;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<AtelierServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const secrets = loadSecrets(config);
  const target: DatabaseTarget =
    options.database ??
    (config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'embedded', dataDir: join(config.dataDir, 'db') });
  const db = await openDatabase(target);
  const blobs = new FileBlobStore(join(config.dataDir, 'blobs'));
  const fileSigner = new UrlSigner({ secrets: secrets.signingSecrets.map((s) => derive(s, 'files')), basePath: '/files' });
  const uploadSigner = new UrlSigner({ secrets: secrets.signingSecrets.map((s) => derive(s, 'uploads')), basePath: '/uploads' });

  let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const services = createServices({
    db,
    blobs,
    fileSigner,
    uploadSigner,
    sessionSecrets: secrets.signingSecrets.map((s) => derive(s, 'sessions')),
    operatorToken: secrets.adminToken,
    publicUrl: () => publicUrl,
    defaultModel: modelId(config.modelDir),
  });

  let transport: GraphQLTransport | null = null;
  const app = createHttpApp({ db, blobs, fileSigner, uploads: services.uploads, logger, metrics, graphql: () => transport?.middleware ?? null });
  const httpServer: Server = createServer(app);
  transport = await createGraphQLTransport({ httpServer, services, logger, metrics, introspection: target.kind === 'embedded' });

  await new Promise<void>((resolveListen, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolveListen());
  });
  const port = (httpServer.address() as AddressInfo).port;
  if (!config.publicUrl) publicUrl = `http://localhost:${port}`;
  if (secrets.adminTokenGenerated) {
    logger.info({ adminTokenFile: join(config.dataDir, 'admin-token') }, 'generated the operator token (createTenant)');
  }

  let closing: Promise<void> | null = null;
  return {
    url: `http://localhost:${port}`,
    port,
    adminToken: secrets.adminToken,
    services,
    db,
    logger,
    close() {
      closing ??= (async () => {
        await transport?.close();
        if (httpServer.listening) await new Promise<void>((r) => httpServer.close(() => r()));
        await db.close();
      })();
      return closing;
    },
  };
}
