// Security headers (issue 13 item 11): the web app's pages carry a Content-Security-Policy
// without inline scripts (images from the server, its public URL and upload previews), are
// never framed, send no referrer and are not MIME-sniffed; every API response carries the
// same, with a policy that allows nothing. The web app's HTML has no inline script to allow.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/server';
import { projectRoot } from '../../src/common/project-paths';
import { webPageCsp } from '../../src/http/security-headers';

/** The policy's directives by name. */
function directives(policy: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (policy ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name, values);
  }
  return map;
}

function expectCommonHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(directives(headers.get('content-security-policy')).get('frame-ancestors')).toEqual(["'none'"]);
}

describe('security headers', () => {
  let server: TestServer;
  let webAppDir: string;
  beforeAll(async () => {
    // A stand-in for vite's output, so this suite needs no build.
    webAppDir = mkdtempSync(join(tmpdir(), 'atelier-web-'));
    mkdirSync(join(webAppDir, 'assets'));
    writeFileSync(
      join(webAppDir, 'index.html'),
      '<!doctype html><div id="root"></div><script type="module" src="/assets/app.js"></script>',
    );
    writeFileSync(join(webAppDir, 'assets', 'app.js'), 'console.log(1)');
    server = await startTestServer('pglite', { ATELIER_PUBLIC_URL: 'https://tryon.example.com' }, { webAppDir });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(webAppDir, { recursive: true, force: true });
  });

  test.each(['/', '/catalog', '/assets/app.js'])(
    'the web app (%s): a policy without inline scripts, images from the server, its public URL and previews',
    async (path) => {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      expectCommonHeaders(response.headers);
      const csp = directives(response.headers.get('content-security-policy'));
      expect(csp.get('default-src')).toEqual(["'self'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('style-src')).toEqual(["'self'"]);
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(csp.get('base-uri')).toEqual(["'none'"]);
      expect(csp.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'https://tryon.example.com']);
      // fetch and graphql-ws: the server (by its Host) and the public URL.
      const host = new URL(server.url).host;
      expect(csp.get('connect-src')).toEqual([
        "'self'",
        'https://tryon.example.com',
        'wss://tryon.example.com',
        `ws://${host}`,
        `wss://${host}`,
      ]);
      for (const values of csp.values()) {
        expect(values).not.toContain("'unsafe-inline'");
        expect(values).not.toContain("'unsafe-eval'");
        expect(values).not.toContain('*');
      }
    },
  );

  test.each([
    ['GET', '/healthz', 200],
    ['POST', '/graphql', 200],
    ['GET', '/files/nope?exp=1&sig=x', 403],
    ['GET', '/no/such/route', 404],
  ])('API responses (%s %s): a policy that allows nothing, nosniff, no referrer, never framed', async (method, path, status) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' } : {}),
    });
    expect(response.status).toBe(status);
    expectCommonHeaders(response.headers);
    if (!path.startsWith('/no/'))
      expect(directives(response.headers.get('content-security-policy')).get('default-src')).toEqual(["'none'"]);
  });

  test('a Host header cannot write into the policy', () => {
    const csp = webPageCsp('http://localhost:4000', "evil.example; script-src 'unsafe-inline'");
    expect(csp).not.toContain('evil');
    expect(directives(csp).get('script-src')).toEqual(["'self'"]);
  });

  test('the web app has no inline script or style for the policy to refuse', () => {
    const html = readFileSync(join(projectRoot, 'web', 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc=/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });
});
