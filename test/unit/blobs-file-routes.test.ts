/** The signed file route over a real HTTP server on 127.0.0.1 and a real FileBlobStore. */
import express from 'express';
import fs from 'node:fs/promises';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FileBlobStore, UrlSigner, createFileRouter } from '../../src/blobs';

const PNG_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const signer = new UrlSigner({ secrets: ['s'.repeat(40)] });
let sandbox: string;
let store: FileBlobStore;
let server: Server;
let origin: string;

beforeAll(async () => {
  sandbox = await fs.mkdtemp(path.join(os.tmpdir(), 'atelier-file-routes-'));
  store = new FileBlobStore(path.join(sandbox, 'root'));
  await store.put('tenants/t1/photos/p1', PNG_BYTES, 'image/png');
  await store.put('doc', Buffer.from('<script>alert(1)</script>'), 'text/html');
  const app = express();
  app.use(createFileRouter({ store, signer }));
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  await fs.rm(sandbox, { recursive: true, force: true });
});

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000);

function get(pathAndQuery: string, init?: RequestInit): Promise<Response> {
  return fetch(origin + pathAndQuery, init);
}

/** Sends the path byte for byte: fetch would normalize dot segments away before they reach the server. */
function rawGet(rawPath: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(origin);
    const request = http.get({ hostname, port, path: rawPath, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          contentType: String(response.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('latin1'),
        }),
      );
    });
    request.on('error', reject);
  });
}

describe('GET /files/*key', () => {
  it('serves a blob with its type and safe caching headers', async () => {
    const response = await get(signer.sign('tenants/t1/photos/p1', inSeconds(3600)));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('cache-control')).toBe('private, max-age=300');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-length')).toBe(String(PNG_BYTES.length));
    expect(Buffer.from(await response.arrayBuffer()).equals(PNG_BYTES)).toBe(true);
  });

  it('never lets a cached copy outlive the link', async () => {
    const response = await get(signer.sign('tenants/t1/photos/p1', inSeconds(100)));
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(97);
    expect(maxAge).toBeLessThanOrEqual(100);
    await response.arrayBuffer();
  });

  it('sandboxes a stored document so nothing in it runs', async () => {
    const response = await get(signer.sign('doc', inSeconds(60)));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain('sandbox');
    await response.arrayBuffer();
  });

  it('answers HEAD without a body', async () => {
    const response = await get(signer.sign('tenants/t1/photos/p1', inSeconds(60)), { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it('returns 404 for a genuine link to a missing blob', async () => {
    const response = await get(signer.sign('tenants/t1/photos/gone', inSeconds(60)));
    expect(response.status).toBe(404);
    expect(response.headers.get('cache-control')).toBe('no-store');
    await response.text();
  });

  describe('returns 403', () => {
    const good = () => new URL(signer.sign('tenants/t1/photos/p1', inSeconds(3600)), 'http://x');
    const cases: Array<[string, () => string]> = [
      ['for an expired link', () => signer.sign('tenants/t1/photos/p1', inSeconds(-1))],
      ['for a tampered signature', () => {
        const url = good();
        const sig = url.searchParams.get('sig')!;
        url.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
        return url.pathname + url.search;
      }],
      ['for a tampered expiry', () => {
        const url = good();
        url.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600));
        return url.pathname + url.search;
      }],
      ['for another key with a genuine signature', () => {
        const url = good();
        return '/files/tenants/t2/photos/p1' + url.search;
      }],
      ['without a signature', () => `/files/tenants/t1/photos/p1?exp=${good().searchParams.get('exp')}`],
      ['without an expiry', () => `/files/tenants/t1/photos/p1?sig=${good().searchParams.get('sig')}`],
      ['without a query', () => '/files/tenants/t1/photos/p1'],
      ['for a repeated signature parameter', () => {
        const url = good();
        url.searchParams.append('sig', url.searchParams.get('sig')!);
        return url.pathname + url.search;
      }],
      ['for a malformed expiry', () => {
        const url = good();
        url.searchParams.set('exp', 'tomorrow');
        return url.pathname + url.search;
      }],
      ['for an encoded traversal', () => `/files/..%2f..%2fetc%2fpasswd${good().search}`],
      ['for encoded dots', () => `/files/%2e%2e/%2e%2e/secret${good().search}`],
      ['for literal dot segments', () => `/files/tenants/t1/../../secret${good().search}`],
      ['for a backslash traversal', () => `/files/..%5c..%5csecret${good().search}`],
      ['for an encoded NUL byte', () => `/files/tenants/t1/photos/p1%00${good().search}`],
      ['for a missing blob with a forged signature', () => `/files/nothing/here${good().search}`],
    ];
    it.each(cases)('%s', async (_, makePath) => {
      const response = await rawGet(makePath());
      expect(response.status).toBe(403);
      expect(response.contentType).toMatch(/^application\/json/);
      expect(JSON.parse(response.body).error.code).toMatch(/^LINK_(INVALID|EXPIRED)$/);
      expect(response.body).not.toContain('PNG');
    });
  });

  it('returns 404, not the target, when a symlink was planted under a signed key', async () => {
    const outside = path.join(sandbox, 'outside');
    await new FileBlobStore(outside).put('x', Buffer.from('outside'), 'text/plain');
    await fs.symlink(outside, path.join(sandbox, 'root', 'evil'));
    const response = await get(signer.sign('evil/x', inSeconds(60)));
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('outside');
  });
});
