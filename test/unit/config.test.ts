// Configuration: defaults, and one clear error naming the variable for each bad value.
import { ConfigError, loadConfig } from '../../src/main/config';

describe('loadConfig', () => {
  test('defaults: embedded database under ./.atelier on port 4000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      dataDir: './.atelier',
      databaseUrl: undefined,
      adminToken: undefined,
      modelDir: 'models/tryon-tiny',
    });
  });

  test('ATELIER_DEMO: auto by default; on/off, 1/0 and true/false accepted', () => {
    expect(loadConfig({}).demo).toBe('auto');
    expect(loadConfig({ ATELIER_DEMO: '1' }).demo).toBe('on');
    expect(loadConfig({ ATELIER_DEMO: 'OFF' }).demo).toBe('off');
    expect(loadConfig({ ATELIER_DEMO: 'false' }).demo).toBe('off');
  });

  test('HOST: loopback on the embedded default, every interface with DATABASE_URL, else as given', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/x', ATELIER_SECRETS: 'a'.repeat(32) }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  test('quotas: 2048 MB per tenant and 20 photos per shopper by default; 0 is no limit', () => {
    expect(loadConfig({}).quotas).toEqual({ tenantStorageBytes: 2048 * 1024 * 1024, shopperPhotos: 20 });
    expect(loadConfig({ ATELIER_TENANT_STORAGE_MB: '0', ATELIER_SHOPPER_MAX_PHOTOS: '0' }).quotas).toEqual({
      tenantStorageBytes: null,
      shopperPhotos: null,
    });
  });

  test('the demo endpoint: loopback callers only and 10 new visitors per address an hour by default', () => {
    expect(loadConfig({}).demoAccess).toEqual({ allowRemote: false, newVisitorsPerHour: 10 });
    expect(loadConfig({ ATELIER_DEMO_ALLOW_REMOTE: 'true', ATELIER_DEMO_VISITORS_PER_HOUR: '0' }).demoAccess).toEqual({
      allowRemote: true,
      newVisitorsPerHour: 0,
    });
  });

  test('aggregate rate limits: 200/s burst 600 per tenant, 20/s burst 100 per address for shopper sessions; rate 0 is no limit', () => {
    expect(loadConfig({}).rateLimits).toMatchObject({
      tenant: { perSecond: 200, burst: 600 },
      shopperAddress: { perSecond: 20, burst: 100 },
    });
    expect(loadConfig({ ATELIER_RATE_TENANT_PER_S: '0', ATELIER_RATE_SHOPPER_ADDRESS_BURST: '7' }).rateLimits).toMatchObject({
      tenant: { perSecond: 0 },
      shopperAddress: { burst: 7 },
    });
    expect(() => loadConfig({ ATELIER_RATE_TENANT_BURST: '0' })).toThrow(/ATELIER_RATE_TENANT_BURST/);
  });

  test('graphql-ws connections live at most an hour by default; ATELIER_WS_MAX_LIFETIME_S in seconds', () => {
    expect(loadConfig({}).webSocket.maxLifetimeMs).toBe(3_600_000);
    expect(loadConfig({ ATELIER_WS_MAX_LIFETIME_S: '90' }).webSocket.maxLifetimeMs).toBe(90_000);
  });

  test('metrics: no listener of their own by default; ATELIER_METRICS_PORT on loopback unless ATELIER_METRICS_HOST says otherwise', () => {
    expect(loadConfig({}).metricsListener).toBeNull();
    expect(loadConfig({ ATELIER_METRICS_PORT: '9464' }).metricsListener).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(loadConfig({ ATELIER_METRICS_PORT: '0', ATELIER_METRICS_HOST: '0.0.0.0' }).metricsListener).toEqual({
      port: 0,
      host: '0.0.0.0',
    });
    expect(() => loadConfig({ ATELIER_METRICS_PORT: '70000' })).toThrow(/^invalid configuration: ATELIER_METRICS_PORT /);
  });

  test('blank values count as unset', () => {
    expect(loadConfig({ PORT: '  ', DATABASE_URL: '' }).port).toBe(4000);
  });

  test.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '3.5' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['ATELIER_ADMIN_TOKEN', { ATELIER_ADMIN_TOKEN: 'short' }],
    ['ATELIER_PUBLIC_URL', { ATELIER_PUBLIC_URL: 'not a url' }],
    ['ATELIER_PUBLIC_URL', { ATELIER_PUBLIC_URL: 'ftp://example.com' }],
    ['ATELIER_SECRETS', { ATELIER_SECRETS: 'too-short' }],
    ['ATELIER_SECRETS', { DATABASE_URL: 'postgres://127.0.0.1/x' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['ATELIER_DEMO', { ATELIER_DEMO: 'maybe' }],
    ['ATELIER_BLOB_STORE', { ATELIER_BLOB_STORE: 'nfs' }],
    ['ATELIER_S3_BUCKET', { ATELIER_BLOB_STORE: 's3' }],
    ['ATELIER_S3_BUCKET', { ATELIER_BLOB_STORE: 's3', ATELIER_S3_BUCKET: 'Not_A_Bucket' }],
    ['ATELIER_S3_BUCKET', { ATELIER_S3_BUCKET: 'atelier' }],
    ['ATELIER_S3_ENDPOINT', { ATELIER_BLOB_STORE: 's3', ATELIER_S3_BUCKET: 'atelier', ATELIER_S3_ENDPOINT: 'minio:9000' }],
    ['ATELIER_S3_ENDPOINT', { ATELIER_S3_ENDPOINT: 'http://minio:9000' }],
    ['ATELIER_S3_PREFIX', { ATELIER_BLOB_STORE: 's3', ATELIER_S3_BUCKET: 'atelier', ATELIER_S3_PREFIX: 'a/../b' }],
    ['ATELIER_S3_PREFIX', { ATELIER_S3_PREFIX: 'prod' }],
    ['AWS_REGION', { ATELIER_BLOB_STORE: 's3', ATELIER_S3_BUCKET: 'atelier', AWS_REGION: 'EU West' }],
    ['ATELIER_TENANT_STORAGE_MB', { ATELIER_TENANT_STORAGE_MB: '-1' }],
    ['ATELIER_SHOPPER_MAX_PHOTOS', { ATELIER_SHOPPER_MAX_PHOTOS: 'many' }],
    ['ATELIER_DEMO_ALLOW_REMOTE', { ATELIER_DEMO_ALLOW_REMOTE: 'yes' }],
    ['ATELIER_WS_MAX_LIFETIME_S', { ATELIER_WS_MAX_LIFETIME_S: '0' }],
    ['ATELIER_WS_MAX_LIFETIME_S', { ATELIER_WS_MAX_LIFETIME_S: '1.5' }],
    ['ATELIER_WS_MAX_LIFETIME_S', { ATELIER_WS_MAX_LIFETIME_S: String(8 * 24 * 3600) }],
  ])('a bad %s is refused with its name', (variable, env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^invalid configuration: ${variable} `));
    expect((error as ConfigError).message).not.toContain('\n');
  });

  test('public URL loses its trailing slash; secrets split on commas', () => {
    const config = loadConfig({
      ATELIER_PUBLIC_URL: 'https://tryon.example.com/',
      ATELIER_SECRETS: `${'a'.repeat(32)}, ${'b'.repeat(32)}`,
    });
    expect(config.publicUrl).toBe('https://tryon.example.com');
    expect(config.secrets).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
  });

  test('blobs: files under the data directory by default; S3 with its bucket, prefix, endpoint and region', () => {
    expect(loadConfig({}).blobStore).toEqual({ kind: 'file' });
    expect(loadConfig({ AWS_REGION: 'eu-west-1' }).blobStore).toEqual({ kind: 'file' });
    expect(loadConfig({ ATELIER_BLOB_STORE: 's3', ATELIER_S3_BUCKET: 'atelier-blobs', AWS_REGION: 'eu-west-1' }).blobStore).toEqual({
      kind: 's3',
      bucket: 'atelier-blobs',
      prefix: undefined,
      endpoint: undefined,
      region: 'eu-west-1',
    });
    // An endpoint of its own (MinIO, R2): the region defaults to us-east-1; slashes around the prefix are dropped.
    expect(
      loadConfig({
        ATELIER_BLOB_STORE: 's3',
        ATELIER_S3_BUCKET: 'atelier',
        ATELIER_S3_ENDPOINT: 'http://minio:9000/',
        ATELIER_S3_PREFIX: '/prod/eu/',
      }).blobStore,
    ).toEqual({ kind: 's3', bucket: 'atelier', prefix: 'prod/eu', endpoint: 'http://minio:9000', region: 'us-east-1' });
    expect(loadConfig({ ATELIER_BLOB_STORE: 's3', ATELIER_S3_BUCKET: 'atelier', ATELIER_S3_PREFIX: '/' }).blobStore).toMatchObject({
      prefix: undefined,
    });
  });

  test('the engine: a 512 MB hot cache and the CPU by default; providers listed in order, cpu as the fallback', () => {
    expect(loadConfig({})).toMatchObject({ referenceCacheBytes: 512 * 1024 * 1024, executionProviders: ['cpu'] });
    expect(loadConfig({ ATELIER_REFERENCE_CACHE_MB: '0' }).referenceCacheBytes).toBe(0);
    expect(loadConfig({ ATELIER_REFERENCE_CACHE_MB: '2048' }).referenceCacheBytes).toBe(2048 * 1024 * 1024);
    expect(loadConfig({ ATELIER_EXECUTION_PROVIDERS: ' CUDA , cpu ' }).executionProviders).toEqual(['cuda', 'cpu']);
    expect(loadConfig({ ATELIER_EXECUTION_PROVIDERS: 'webgpu' }).executionProviders).toEqual(['webgpu']);
  });

  test.each([
    ['ATELIER_REFERENCE_CACHE_MB', '-1'],
    ['ATELIER_REFERENCE_CACHE_MB', '1.5'],
    ['ATELIER_REFERENCE_CACHE_MB', 'lots'],
    ['ATELIER_EXECUTION_PROVIDERS', 'cuda,,cpu'],
    ['ATELIER_EXECUTION_PROVIDERS', 'cuda;cpu'],
    ['ATELIER_EXECUTION_PROVIDERS', 'cpu,cpu'],
  ])('%s=%s stops start-up with an error naming it', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^invalid configuration: ${variable} `));
  });
});
