// Configuration: parsed and validated once, here; the only module that reads process.env.
// A bad value stops start-up with one line naming the variable (ConfigError).
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** An environment variable: blank counts as unset, surrounding spaces are ignored. */
const variable = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined), inner);

const schema = z.object({
  /** HTTP port; default 4000. */
  PORT: variable(z.coerce.number().int().min(0).max(65535).default(4000)),
  /** Interface to bind; default 0.0.0.0. */
  HOST: variable(z.string().default('0.0.0.0')),
  /** Data directory (embedded database, blobs, generated secrets); default ./.atelier. */
  ATELIER_DATA_DIR: variable(z.string().default('./.atelier')),
  /** PostgreSQL URL; unset: embedded PostgreSQL (PGlite) in the data directory. */
  DATABASE_URL: variable(
    z
      .string()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  /** Platform operator token (createTenant). Unset on the embedded default: generated once and kept in the data directory. */
  ATELIER_ADMIN_TOKEN: variable(z.string().min(16, 'must be at least 16 characters').optional()),
  /** Secrets signing shopper sessions and file URLs, comma-separated, newest first (older ones still verify). Unset on the embedded default: generated once. Required with DATABASE_URL. */
  ATELIER_SECRETS: variable(
    z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .refine((list) => list.length > 0 && list.every((s) => s.length >= 32), 'must be comma-separated secrets of at least 32 characters')
      .optional(),
  ),
  /** Base URL of links the API hands out (image and upload URLs); default http://localhost:PORT. */
  ATELIER_PUBLIC_URL: variable(
    z
      .string()
      .url('must be an absolute http(s) URL')
      .refine((v) => /^https?:\/\//.test(v), 'must be an absolute http(s) URL')
      .transform((v) => v.replace(/\/+$/, ''))
      .optional(),
  ),
  /** Model package directory; default models/tryon-tiny. */
  ATELIER_MODEL_DIR: variable(z.string().default('models/tryon-tiny')),
  /** Redis URL; set: BullMQ job queue and Redis pub/sub (API and workers may run as separate processes). Unset: in-process. */
  REDIS_URL: variable(
    z
      .string()
      .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
      .optional(),
  ),
  /** onnxruntime threads per graph in a worker; default 1. */
  ATELIER_WORKER_THREADS: variable(z.coerce.number().int().min(1).max(64).default(1)),
  /** Renders one worker runs at once (they share denoiser calls); default 4. */
  ATELIER_RENDER_CONCURRENCY: variable(z.coerce.number().int().min(1).max(64).default(4)),
  /** With REDIS_URL: how long a worker's claim on a job lasts without renewal (ms); a job of a worker that died moves to another after this. Default 30000. */
  ATELIER_JOB_LOCK_MS: variable(z.coerce.number().int().min(1000).max(600_000).default(30_000)),
  /** Deliver webhooks to loopback, private and link-local addresses too; default false (such endpoints are refused: a tenant must not reach the platform's own network). */
  ATELIER_WEBHOOK_PRIVATE_NETWORKS: variable(z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1')),
  /**
   * Demo tenant (sample garments and person photos) and the demo-only shopper session endpoint.
   * auto (default): created on the first start of the embedded default (empty data directory);
   * on: created when missing, on any database; off: never, and the demo endpoint is disabled.
   */
  ATELIER_DEMO: variable(
    z
      .string()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(['auto', 'on', 'off', '1', '0', 'true', 'false']))
      .transform((v): 'auto' | 'on' | 'off' => (v === '1' || v === 'true' ? 'on' : v === '0' || v === 'false' ? 'off' : v))
      .default('auto'),
  ),
  /** Log level (pino); default info. */
  LOG_LEVEL: variable(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  secrets: string[] | undefined;
  publicUrl: string | undefined;
  modelDir: string;
  redisUrl: string | undefined;
  workerThreads: number;
  renderConcurrency: number;
  jobLockMs: number;
  webhookPrivateNetworks: boolean;
  demo: 'auto' | 'on' | 'off';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Parses the environment (process.env by default). Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(variable, `(${JSON.stringify(env[variable] ?? '')}): ${issue.message}`);
  }
  const c = result.data;
  if (c.DATABASE_URL && !c.ATELIER_SECRETS) {
    throw new ConfigError('ATELIER_SECRETS', 'is required when DATABASE_URL is set (every replica must share it)');
  }
  return {
    port: c.PORT,
    host: c.HOST,
    dataDir: c.ATELIER_DATA_DIR,
    databaseUrl: c.DATABASE_URL,
    adminToken: c.ATELIER_ADMIN_TOKEN,
    secrets: c.ATELIER_SECRETS,
    publicUrl: c.ATELIER_PUBLIC_URL,
    modelDir: c.ATELIER_MODEL_DIR,
    redisUrl: c.REDIS_URL,
    workerThreads: c.ATELIER_WORKER_THREADS,
    renderConcurrency: c.ATELIER_RENDER_CONCURRENCY,
    jobLockMs: c.ATELIER_JOB_LOCK_MS,
    webhookPrivateNetworks: c.ATELIER_WEBHOOK_PRIVATE_NETWORKS,
    demo: c.ATELIER_DEMO,
    logLevel: c.LOG_LEVEL,
  };
}
