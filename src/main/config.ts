// Configuration: parsed and validated once, here; the only module that reads process.env.
// A bad value stops start-up with one line naming the variable (ConfigError).
import { z } from 'zod';
import type { QueryLimits } from '../limits/query-limits';
import type { RateLimitOptions } from '../limits/rate-limits';
import { isValidS3Bucket, isValidS3Prefix } from '../blobs/s3-names';
import type { Quotas } from '../common/quotas';
import type { WebSocketLimits } from '../graphql/ws-transport';
import type { DemoAccess } from '../demo/demo-sessions';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** An environment variable: blank counts as unset, surrounding spaces are ignored. */
const variable = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined), inner);

const int = (min: number, max: number, fallback: number) => variable(z.coerce.number().int().min(min).max(max).default(fallback));
const number = (min: number, max: number, fallback: number) => variable(z.coerce.number().min(min).max(max).default(fallback));

const schema = z.object({
  /** HTTP port; default 4000. */
  PORT: variable(z.coerce.number().int().min(0).max(65535).default(4000)),
  /** Interface to bind; default: 127.0.0.1 (loopback) on the embedded default, 0.0.0.0 with DATABASE_URL. */
  HOST: variable(z.string().optional()),
  /** Data directory (embedded database, blobs of the file store, generated secrets, demo credentials); default ./.atelier. */
  ATELIER_DATA_DIR: variable(z.string().default('./.atelier')),
  /**
   * Where blobs (images, caches, previews, results) live: file (default: ATELIER_DATA_DIR/blobs) or s3 (ATELIER_S3_BUCKET, shared by every
   * process).
   */
  ATELIER_BLOB_STORE: variable(z.enum(['file', 's3']).default('file')),
  /** With ATELIER_BLOB_STORE=s3: the bucket, which must exist; start-up stops when it is missing or refuses the credentials. */
  ATELIER_S3_BUCKET: variable(z.string().refine(isValidS3Bucket, 'must be an S3 bucket name (3-63 of a-z, 0-9, "." and "-")').optional()),
  /** With s3: where blobs go inside the bucket, e.g. atelier/prod (slashes at either end are dropped); default the bucket's root. */
  ATELIER_S3_PREFIX: variable(
    z
      .string()
      .transform((v) => v.replace(/^\/+|\/+$/g, ''))
      .refine(
        (v) => v === '' || isValidS3Prefix(v),
        'must be slash-separated segments of A-Z a-z 0-9 . _ - (none starting with a dot), at most 200 characters',
      )
      .optional(),
  ),
  /** With s3: base URL of an S3-compatible service (MinIO, R2, ...), addressed path-style; default AWS S3. */
  ATELIER_S3_ENDPOINT: variable(
    z
      .string()
      .url('must be an absolute http(s) URL')
      .refine((v) => /^https?:\/\//.test(v), 'must be an absolute http(s) URL')
      .transform((v) => v.replace(/\/+$/, ''))
      .optional(),
  ),
  /**
   * With s3: the region; default the SDK's own (its shared config file), us-east-1 with ATELIER_S3_ENDPOINT.
   * The credentials are the SDK's too (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profiles, roles): it reads them itself.
   */
  AWS_REGION: variable(
    z
      .string()
      .regex(/^[a-z0-9-]{1,50}$/, 'must be a region name such as eu-west-1')
      .optional(),
  ),
  /** PostgreSQL URL; unset: embedded PostgreSQL (PGlite) in the data directory. */
  DATABASE_URL: variable(
    z
      .string()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  /** Platform operator token (createTenant). Unset on the embedded default: generated once and kept in the data directory. */
  ATELIER_ADMIN_TOKEN: variable(z.string().min(16, 'must be at least 16 characters').optional()),
  /**
   * Secrets signing shopper sessions and file URLs, comma-separated, newest first (older ones still verify). Unset on the embedded default:
   * generated once. Required with DATABASE_URL.
   */
  ATELIER_SECRETS: variable(
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
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
  /** onnxruntime intra-op threads of the denoiser and reference encoder in a worker; default 1. */
  ATELIER_WORKER_THREADS: variable(z.coerce.number().int().min(1).max(64).default(1)),
  /**
   * Nice value (0..19) of the inference thread: above 0, renders take the CPU the API's event loop leaves; default 10. 0: same priority as
   * the API.
   */
  ATELIER_ENGINE_NICE: int(0, 19, 10),
  /**
   * Megabytes of decoded reference caches and person encodings a worker keeps in memory between renders (least recently used out first);
   * default 512; 0: none, every render reads and decodes its caches.
   */
  ATELIER_REFERENCE_CACHE_MB: int(0, 1024 * 1024, 512),
  /**
   * onnxruntime execution providers of a worker, comma-separated in order of preference (cpu, cuda, webgpu, tensorrt, ...); default cpu.
   * One this installation of onnxruntime-node lacks stops start-up naming it, unless cpu follows it (then a warning and the fallback).
   */
  ATELIER_EXECUTION_PROVIDERS: variable(
    z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim().toLowerCase()))
      .refine((list) => list.every((p) => /^[a-z][a-z0-9_]*$/.test(p)), 'must be comma-separated provider names such as cuda,cpu')
      .refine((list) => new Set(list).size === list.length, 'names a provider twice')
      .default(['cpu']),
  ),
  /** Renders one worker runs at once (they share denoiser calls); default 4. */
  ATELIER_RENDER_CONCURRENCY: variable(z.coerce.number().int().min(1).max(64).default(4)),
  /**
   * With REDIS_URL: how long a worker's claim on a job lasts without renewal (ms); a job of a worker that died moves to another after this.
   * Default 30000.
   */
  ATELIER_JOB_LOCK_MS: variable(z.coerce.number().int().min(1000).max(600_000).default(30_000)),
  /**
   * Deliver webhooks to loopback, private and link-local addresses too; default false (such endpoints are refused: a tenant must not reach
   * the platform's own network).
   */
  ATELIER_WEBHOOK_PRIVATE_NETWORKS: variable(
    z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
  ),
  /** Active webhook endpoints one tenant may have; default 10. More: TOO_MANY_ENDPOINTS. */
  ATELIER_WEBHOOK_MAX_ENDPOINTS: int(1, 10_000, 10),
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
  /** Whether POST /demo/session answers callers that are not on loopback (true/false); default false: others get 403 DEMO_LOOPBACK_ONLY. */
  ATELIER_DEMO_ALLOW_REMOTE: variable(
    z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
  ),
  /**
   * New demo visitors (each a shopper with copies of the sample photos) one remote address may create per hour; default 10; 0: no limit.
   * More: 429 DEMO_VISITOR_LIMIT.
   */
  ATELIER_DEMO_VISITORS_PER_HOUR: int(0, 1_000_000, 10),
  /**
   * Megabytes of images one tenant may store (garments, person photos, staged uploads not yet used); default 2048; 0: no limit. More:
   * STORAGE_QUOTA_EXCEEDED.
   */
  ATELIER_TENANT_STORAGE_MB: int(0, 100_000_000, 2048),
  /**
   * Person photos one shopper may hold (its staged uploads not yet used count too); default 20; 0: no limit. More: PHOTO_QUOTA_EXCEEDED.
   */
  ATELIER_SHOPPER_MAX_PHOTOS: int(0, 1_000_000, 20),
  /** Largest GraphQL query document in bytes; default 32768. Larger: QUERY_TOO_LARGE (nothing runs). */
  ATELIER_MAX_QUERY_BYTES: int(256, 1024 * 1024, 32 * 1024),
  /** Most lexical tokens in a query document; default 1000. More: TOO_MANY_TOKENS. */
  ATELIER_MAX_QUERY_TOKENS: int(10, 100_000, 1000),
  /** Deepest field nesting of an operation; default 10. Deeper: QUERY_TOO_DEEP. */
  ATELIER_MAX_QUERY_DEPTH: int(1, 100, 10),
  /** Highest requested cost of one operation (objects 1, connections 2 + first x node); default 1000. Higher: QUERY_TOO_COSTLY. */
  ATELIER_MAX_QUERY_COST: int(1, 1_000_000, 1000),
  /** Most aliases in a query document; default 30. More: TOO_MANY_ALIASES. */
  ATELIER_MAX_ALIASES: int(0, 10_000, 30),
  /** Most field selections written in a query document; default 250. More: TOO_MANY_FIELDS. */
  ATELIER_MAX_QUERY_FIELDS: int(1, 100_000, 250),
  /** Most root fields in an operation; default 20. More: TOO_MANY_ROOT_FIELDS. */
  ATELIER_MAX_ROOT_FIELDS: int(1, 10_000, 20),
  /** Most directives in a query document; default 20. More: TOO_MANY_DIRECTIVES. */
  ATELIER_MAX_DIRECTIVES: int(0, 10_000, 20),
  /** Most operations in one batched HTTP request (a JSON array); default 10; 1 refuses batches. More: BATCH_TOO_LARGE. */
  ATELIER_MAX_BATCH_SIZE: int(1, 1000, 10),
  /** Requests per second regained by each tenant API key's bucket; default 50; 0: no limit. Over: RATE_LIMITED. */
  ATELIER_RATE_API_KEY_PER_S: number(0, 1_000_000, 50),
  /** Burst (bucket size) of each API key; default 200. */
  ATELIER_RATE_API_KEY_BURST: int(1, 10_000_000, 200),
  /** Requests per second regained by each shopper session's bucket; default 10; 0: no limit. */
  ATELIER_RATE_SHOPPER_PER_S: number(0, 1_000_000, 10),
  /** Burst of each shopper session; default 50. */
  ATELIER_RATE_SHOPPER_BURST: int(1, 10_000_000, 50),
  /** Requests per second regained by each remote address without a tenant token (anonymous, operator); default 5; 0: no limit. */
  ATELIER_RATE_ANONYMOUS_PER_S: number(0, 1_000_000, 5),
  /** Burst per remote address without a tenant token; default 30. */
  ATELIER_RATE_ANONYMOUS_BURST: int(1, 10_000_000, 30),
  /**
   * Requests per second regained by each tenant's aggregate bucket: every API key and shopper session of the tenant together; default 200;
   * 0: no limit. Over: RATE_LIMITED.
   */
  ATELIER_RATE_TENANT_PER_S: number(0, 1_000_000, 200),
  /** Burst of each tenant's aggregate bucket; default 600. */
  ATELIER_RATE_TENANT_BURST: int(1, 10_000_000, 600),
  /**
   * Requests per second regained by each remote address's shopper bucket: every shopper session used from one address (IPv6: one /64)
   * together; default 20; 0: no limit. Over: RATE_LIMITED.
   */
  ATELIER_RATE_SHOPPER_ADDRESS_PER_S: number(0, 1_000_000, 20),
  /** Burst of each remote address's shopper bucket; default 100. */
  ATELIER_RATE_SHOPPER_ADDRESS_BURST: int(1, 10_000_000, 100),
  /**
   * Prefix of the rate-limit and connection-count keys in Redis (with REDIS_URL); default atelier:rate:. Processes sharing it share buckets
   * and counts.
   */
  ATELIER_RATE_KEY_PREFIX: variable(z.string().max(200).default('atelier:rate:')),
  /**
   * Most open graphql-ws connections per token (per remote address without one): across every API process with REDIS_URL, per process
   * without; default 20. More: closed with 4429.
   */
  ATELIER_WS_MAX_CONNECTIONS_PER_TOKEN: int(1, 1_000_000, 20),
  /** Most subscriptions running at once on one graphql-ws connection; default 25. More: TOO_MANY_SUBSCRIPTIONS. */
  ATELIER_WS_MAX_SUBSCRIPTIONS: int(1, 10_000, 25),
  /** Largest graphql-ws message in bytes; default 65536. Larger: the socket is closed (1009). */
  ATELIER_WS_MAX_MESSAGE_BYTES: int(1024, 16 * 1024 * 1024, 64 * 1024),
  /** Time a WebSocket has to send connection_init (ms); default 3000. Later: closed with 4408. */
  ATELIER_WS_INIT_TIMEOUT_MS: int(100, 600_000, 3000),
  /**
   * Longest a graphql-ws connection stays open (s); default 3600, at most 7 days. Then: closed with 4410, and a client reconnects
   * (authenticating again).
   */
  ATELIER_WS_MAX_LIFETIME_S: int(1, 7 * 24 * 3600, 3600),
  /** Origins allowed to call /graphql from a browser (CORS), comma-separated, or *; default unset: no CORS headers (same origin only). */
  ATELIER_CORS_ORIGINS: variable(
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      )
      .refine(
        (list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)),
        'must be * or comma-separated origins like https://shop.example.com',
      )
      .optional(),
  ),
  /** Whether GraphQL introspection is allowed (true/false); default: true on the embedded default, false with DATABASE_URL. */
  ATELIER_INTROSPECTION: variable(
    z
      .enum(['true', 'false', '1', '0'])
      .transform((v) => v === 'true' || v === '1')
      .optional(),
  ),
  /**
   * Port of a listener of its own serving only GET /metrics, without a token; unset (default): none, and the main port serves /metrics to
   * the operator token only. 0: any free port.
   */
  ATELIER_METRICS_PORT: variable(z.coerce.number().int().min(0).max(65535).optional()),
  /** Interface of the metrics listener; default 127.0.0.1 (loopback: this machine only). */
  ATELIER_METRICS_HOST: variable(z.string().default('127.0.0.1')),
  /** Log level (pino); default info. */
  LOG_LEVEL: variable(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
});

/** Where blobs live: files under the data directory, or an S3-compatible bucket. */
export type BlobStoreConfig =
  { kind: 'file' } | { kind: 's3'; bucket: string; prefix: string | undefined; endpoint: string | undefined; region: string | undefined };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  blobStore: BlobStoreConfig;
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  secrets: string[] | undefined;
  publicUrl: string | undefined;
  modelDir: string;
  redisUrl: string | undefined;
  workerThreads: number;
  engineNice: number;
  /** Bytes of decoded caches a worker keeps hot (ATELIER_REFERENCE_CACHE_MB). */
  referenceCacheBytes: number;
  executionProviders: string[];
  renderConcurrency: number;
  jobLockMs: number;
  webhookPrivateNetworks: boolean;
  webhookMaxEndpoints: number;
  demo: 'auto' | 'on' | 'off';
  /** Who may use POST /demo/session. */
  demoAccess: DemoAccess;
  quotas: Quotas;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** What one operation may ask (introspection is decided in api-process.ts when unset). */
  queryLimits: Omit<QueryLimits, 'introspection'>;
  maxBatchSize: number;
  rateLimits: RateLimitOptions;
  rateKeyPrefix: string;
  webSocket: WebSocketLimits;
  /** Allowed browser origins; empty: none. */
  corsOrigins: string[];
  /** Unset: on only for the embedded database. */
  introspection: boolean | undefined;
  /** The metrics listener; null: none (the main port serves /metrics to the operator token). */
  metricsListener: { port: number; host: string } | null;
}

type ParsedEnvironment = z.infer<typeof schema>;

function blobStoreConfig(c: ParsedEnvironment): BlobStoreConfig {
  if (c.ATELIER_BLOB_STORE === 'file') {
    // Set but unused would put blobs on local disk while the operator believes they are shared.
    for (const variable of ['ATELIER_S3_BUCKET', 'ATELIER_S3_PREFIX', 'ATELIER_S3_ENDPOINT'] as const) {
      if (c[variable] !== undefined)
        throw new ConfigError(variable, 'is set but ATELIER_BLOB_STORE is not s3 (set ATELIER_BLOB_STORE=s3 to store blobs there)');
    }
    return { kind: 'file' };
  }
  if (c.ATELIER_S3_BUCKET === undefined) throw new ConfigError('ATELIER_S3_BUCKET', 'is required when ATELIER_BLOB_STORE=s3');
  return {
    kind: 's3',
    bucket: c.ATELIER_S3_BUCKET,
    prefix: c.ATELIER_S3_PREFIX || undefined,
    endpoint: c.ATELIER_S3_ENDPOINT,
    // S3-compatible services mostly ignore the region, but the SDK signs with one.
    region: c.AWS_REGION ?? (c.ATELIER_S3_ENDPOINT ? 'us-east-1' : undefined),
  };
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
    // The embedded default (demo on, generated credentials) is reachable from this machine only unless asked.
    host: c.HOST ?? (c.DATABASE_URL ? '0.0.0.0' : '127.0.0.1'),
    dataDir: c.ATELIER_DATA_DIR,
    blobStore: blobStoreConfig(c),
    databaseUrl: c.DATABASE_URL,
    adminToken: c.ATELIER_ADMIN_TOKEN,
    secrets: c.ATELIER_SECRETS,
    publicUrl: c.ATELIER_PUBLIC_URL,
    modelDir: c.ATELIER_MODEL_DIR,
    redisUrl: c.REDIS_URL,
    workerThreads: c.ATELIER_WORKER_THREADS,
    engineNice: c.ATELIER_ENGINE_NICE,
    referenceCacheBytes: c.ATELIER_REFERENCE_CACHE_MB * 1024 * 1024,
    executionProviders: c.ATELIER_EXECUTION_PROVIDERS,
    renderConcurrency: c.ATELIER_RENDER_CONCURRENCY,
    jobLockMs: c.ATELIER_JOB_LOCK_MS,
    webhookPrivateNetworks: c.ATELIER_WEBHOOK_PRIVATE_NETWORKS,
    webhookMaxEndpoints: c.ATELIER_WEBHOOK_MAX_ENDPOINTS,
    demo: c.ATELIER_DEMO,
    demoAccess: { allowRemote: c.ATELIER_DEMO_ALLOW_REMOTE, newVisitorsPerHour: c.ATELIER_DEMO_VISITORS_PER_HOUR },
    quotas: {
      tenantStorageBytes: c.ATELIER_TENANT_STORAGE_MB === 0 ? null : c.ATELIER_TENANT_STORAGE_MB * 1024 * 1024,
      shopperPhotos: c.ATELIER_SHOPPER_MAX_PHOTOS === 0 ? null : c.ATELIER_SHOPPER_MAX_PHOTOS,
    },
    logLevel: c.LOG_LEVEL,
    queryLimits: {
      maxDocumentBytes: c.ATELIER_MAX_QUERY_BYTES,
      maxTokens: c.ATELIER_MAX_QUERY_TOKENS,
      maxDepth: c.ATELIER_MAX_QUERY_DEPTH,
      maxCost: c.ATELIER_MAX_QUERY_COST,
      maxAliases: c.ATELIER_MAX_ALIASES,
      maxFields: c.ATELIER_MAX_QUERY_FIELDS,
      maxRootFields: c.ATELIER_MAX_ROOT_FIELDS,
      maxDirectives: c.ATELIER_MAX_DIRECTIVES,
    },
    maxBatchSize: c.ATELIER_MAX_BATCH_SIZE,
    rateLimits: {
      apiKey: { perSecond: c.ATELIER_RATE_API_KEY_PER_S, burst: c.ATELIER_RATE_API_KEY_BURST },
      shopper: { perSecond: c.ATELIER_RATE_SHOPPER_PER_S, burst: c.ATELIER_RATE_SHOPPER_BURST },
      anonymous: { perSecond: c.ATELIER_RATE_ANONYMOUS_PER_S, burst: c.ATELIER_RATE_ANONYMOUS_BURST },
      tenant: { perSecond: c.ATELIER_RATE_TENANT_PER_S, burst: c.ATELIER_RATE_TENANT_BURST },
      shopperAddress: { perSecond: c.ATELIER_RATE_SHOPPER_ADDRESS_PER_S, burst: c.ATELIER_RATE_SHOPPER_ADDRESS_BURST },
    },
    rateKeyPrefix: c.ATELIER_RATE_KEY_PREFIX,
    webSocket: {
      maxConnectionsPerToken: c.ATELIER_WS_MAX_CONNECTIONS_PER_TOKEN,
      maxSubscriptionsPerConnection: c.ATELIER_WS_MAX_SUBSCRIPTIONS,
      maxMessageBytes: c.ATELIER_WS_MAX_MESSAGE_BYTES,
      initTimeoutMs: c.ATELIER_WS_INIT_TIMEOUT_MS,
      maxLifetimeMs: c.ATELIER_WS_MAX_LIFETIME_S * 1000,
    },
    corsOrigins: c.ATELIER_CORS_ORIGINS ?? [],
    introspection: c.ATELIER_INTROSPECTION,
    metricsListener: c.ATELIER_METRICS_PORT === undefined ? null : { port: c.ATELIER_METRICS_PORT, host: c.ATELIER_METRICS_HOST },
  };
}
