// Configuration: defaults, and one clear error naming the variable for each bad value.
import { ConfigError, loadConfig } from '../../src/main/config';

describe('loadConfig', () => {
  test('defaults: embedded database under ./.atelier on port 4000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, dataDir: './.atelier', databaseUrl: undefined, adminToken: undefined, modelDir: 'models/tryon-tiny' });
  });

  test('ATELIER_DEMO: auto by default; on/off, 1/0 and true/false accepted', () => {
    expect(loadConfig({}).demo).toBe('auto');
    expect(loadConfig({ ATELIER_DEMO: '1' }).demo).toBe('on');
    expect(loadConfig({ ATELIER_DEMO: 'OFF' }).demo).toBe('off');
    expect(loadConfig({ ATELIER_DEMO: 'false' }).demo).toBe('off');
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
    const config = loadConfig({ ATELIER_PUBLIC_URL: 'https://tryon.example.com/', ATELIER_SECRETS: `${'a'.repeat(32)}, ${'b'.repeat(32)}` });
    expect(config.publicUrl).toBe('https://tryon.example.com');
    expect(config.secrets).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
  });
});
