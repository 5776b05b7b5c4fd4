/**
 * The signed file route over a real HTTP server on 127.0.0.1, on each store: a real
 * FileBlobStore, and an S3BlobStore on an S3-compatible server of the test's own.
 */
import express from 'express';
import fs from 'node:fs/promises';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FileBlobStore, S3BlobStore, UrlSigner, createFileRouter, type BlobStore } from '../../src/blobs';
import { S3_CREDENTIALS, S3_REGION, startS3Server, type S3TestServer } from '../support/s3';

const PNG_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const LARGE = Buffer.alloc(3 * 1024 * 1024 + 5, 0x5a);
const signer = new UrlSigner({ secrets: ['s'.repeat(40)] });
let sandbox: string;
let s3: S3TestServer;

beforeAll(async () => {
  sandbox = await fs.mkdtemp(path.join(os.tmpdir(), 'atelier-file-routes-'));
  s3 = await startS3Server();
});

afterAll(async () => {
  await s3.stop();
  await fs.rm(sandbox, { recursive: true, force: true });
});

async function serve(store: BlobStore, onStoreError?: (error: unknown, key: string) => void): Promise<{ server: Server; origin: string }> {
  const app = express();
  app.use(createFileRouter({ store, signer, onStoreError }));
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000);

const stores: Array<[string, () => Promise<BlobStore>]> = [
  ['FileBlobStore', async () => new FileBlobStore(path.join(sandbox, 'root'))],
  [
    'S3BlobStore',
    async () => new S3BlobStore({ bucket: await s3.createBucket(), endpoint: s3.endpoint, region: S3_REGION, credentials: S3_CREDENTIALS }),
  ],
];

describe.each(stores)('GET /files/*key on %s', (kind, makeStore) => {
  let store: BlobStore;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    store = await makeStore();
    await store.put('tenants/t1/photos/p1', PNG_BYTES, 'image/png');
    await store.put('doc', Buffer.from('<script>alert(1)</script>'), 'text/html');
    await store.put('results/t1/large', LARGE, 'image/png');
    ({ server, origin } = await serve(store));
  });

  afterAll(async () => {
    await stop(server);
    if (store instanceof S3BlobStore) store.close();
  });

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
      [
        'for a tampered signature',
        () => {
          const url = good();
          const sig = url.searchParams.get('sig')!;
          url.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
          return url.pathname + url.search;
        },
      ],
      [
        'for a tampered expiry',
        () => {
          const url = good();
          url.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600));
          return url.pathname + url.search;
        },
      ],
      [
        'for another key with a genuine signature',
        () => {
          const url = good();
          return '/files/tenants/t2/photos/p1' + url.search;
        },
      ],
      ['without a signature', () => `/files/tenants/t1/photos/p1?exp=${good().searchParams.get('exp')}`],
      ['without an expiry', () => `/files/tenants/t1/photos/p1?sig=${good().searchParams.get('sig')}`],
      ['without a query', () => '/files/tenants/t1/photos/p1'],
      [
        'for a repeated signature parameter',
        () => {
          const url = good();
          url.searchParams.append('sig', url.searchParams.get('sig')!);
          return url.pathname + url.search;
        },
      ],
      [
        'for a malformed expiry',
        () => {
          const url = good();
          url.searchParams.set('exp', 'tomorrow');
          return url.pathname + url.search;
        },
      ],
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

  it('streams a large blob whole, with its length', async () => {
    const response = await get(signer.sign('results/t1/large', inSeconds(60)));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(LARGE.length));
    expect(Buffer.from(await response.arrayBuffer()).equals(LARGE)).toBe(true);
  });

  it('keeps serving after clients leave half-way through a download', async () => {
    for (let i = 0; i < 20; i++) {
      const response = await get(signer.sign('results/t1/large', inSeconds(60)));
      const reader = response.body!.getReader();
      await reader.read();
      await reader.cancel();
    }
    const response = await get(signer.sign('results/t1/large', inSeconds(60)));
    expect(Buffer.from(await response.arrayBuffer()).equals(LARGE)).toBe(true);
  });

  // Only a file store has paths a symlink can be planted under; an object store has none.
  if (kind === 'FileBlobStore') {
    it('returns 404, not the target, when a symlink was planted under a signed key', async () => {
      const outside = path.join(sandbox, 'outside');
      await new FileBlobStore(outside).put('x', Buffer.from('outside'), 'text/plain');
      await fs.symlink(outside, path.join(sandbox, 'root', 'evil'));
      const response = await get(signer.sign('evil/x', inSeconds(60)));
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('outside');
    });
  }
});

describe('GET /files/*key when the storage fails', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After, tells onStoreError, and reveals nothing', async () => {
    const store = new S3BlobStore({ bucket: 'no-such-bucket', endpoint: s3.endpoint, region: S3_REGION, credentials: S3_CREDENTIALS });
    const failures: Array<[string, string]> = [];
    const { server, origin } = await serve(store, (error, key) => failures.push([String((error as { code?: unknown }).code), key]));
    try {
      const response = await fetch(origin + signer.sign('tenants/t1/photos/p1', inSeconds(60)));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = await response.text();
      expect(JSON.parse(body).error.code).toBe('SERVICE_UNAVAILABLE');
      expect(body).not.toContain('no-such-bucket');
      expect(failures).toEqual([['BUCKET_NOT_FOUND', 'tenants/t1/photos/p1']]);
      // An unsigned request still never reaches the storage.
      expect((await fetch(`${origin}/files/tenants/t1/photos/p1`)).status).toBe(403);
      expect(failures).toHaveLength(1);
    } finally {
      await stop(server);
      store.close();
    }
  });
});
