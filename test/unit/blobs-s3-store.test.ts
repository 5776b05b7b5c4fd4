/**
 * S3BlobStore against an S3-compatible server the test starts on loopback (s3rver behind a
 * strict proxy: test/support/s3.ts): the store contract (test/support/blob-store-contract.ts),
 * then what is S3's own: the layout in the bucket, prefixes that keep stores apart, and clear
 * errors when the bucket is missing, refuses or cannot be reached.
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { S3BlobStore, openBlobStore, type BlobStoreErrorCode, type S3BlobStoreOptions } from '../../src/blobs';
import { describeBlobStoreContract, expectStoreError, readStream } from '../support/blob-store-contract';
import { S3_CREDENTIALS, S3_REGION, startS3Server, type S3TestServer } from '../support/s3';

let s3: S3TestServer;
const stores: S3BlobStore[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
});

afterAll(async () => {
  await s3.stop();
});

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

function s3Store(options: Partial<S3BlobStoreOptions> & { bucket: string }): S3BlobStore {
  const store = new S3BlobStore({ endpoint: s3.endpoint, region: S3_REGION, credentials: S3_CREDENTIALS, ...options });
  stores.push(store);
  return store;
}

describe('S3BlobStore', () => {
  describeBlobStoreContract(
    async () => {
      const bucket = await s3.createBucket();
      // Two keys a page, so that deleting under a prefix goes through several pages.
      return {
        store: (options) => s3Store({ bucket, prefix: 'atelier/test', listPageSize: 2, ...options }),
        listStored: () => s3.listKeys(bucket),
      };
    },
    async () => undefined,
  );
});

describe('S3BlobStore in its bucket', () => {
  it('keeps a blob as the object <prefix>/<key> with its content type, readable by any S3 client', async () => {
    const bucket = await s3.createBucket();
    await s3Store({ bucket, prefix: 'atelier/prod' }).put('photos/t1/p1', Buffer.from('png'), 'image/png');
    await s3Store({ bucket }).put('photos/t1/p1', Buffer.from('at the root'), 'text/plain');
    expect(await s3.listKeys(bucket)).toEqual(['atelier/prod/photos/t1/p1', 'photos/t1/p1']);
  });

  it('keeps stores with different prefixes in one bucket apart, deleting under a prefix included', async () => {
    const bucket = await s3.createBucket();
    const prod = s3Store({ bucket, prefix: 'prod' });
    const staging = s3Store({ bucket, prefix: 'staging' });
    await prod.put('previews/t1/r1/1', Buffer.from('prod'), 'image/png');
    await staging.put('previews/t1/r1/1', Buffer.from('staging'), 'image/png');
    await staging.deleteAllUnder('previews/t1/r1');
    expect((await prod.get('previews/t1/r1/1'))?.data.toString()).toBe('prod');
    expect(await staging.get('previews/t1/r1/1')).toBeNull();
    // A prefix that is a mere string prefix of another ("prod" of "prod2") is not inside it.
    const prod2 = s3Store({ bucket, prefix: 'prod2' });
    await prod2.put('previews/t1/r1/1', Buffer.from('prod2'), 'image/png');
    expect((await prod.get('previews/t1/r1/1'))?.data.toString()).toBe('prod');
  });

  it("reads an object another program wrote, with the type it gave or S3's default", async () => {
    const bucket = await s3.createBucket();
    await s3.putObject(bucket, 'p/imported/a', Buffer.from('jpeg'), 'image/jpeg');
    await s3.putObject(bucket, 'p/imported/b', Buffer.from('bytes'));
    const store = s3Store({ bucket, prefix: 'p' });
    expect(await store.get('imported/a')).toEqual({ data: Buffer.from('jpeg'), contentType: 'image/jpeg' });
    expect((await store.get('imported/b'))?.data.toString()).toBe('bytes');
  });

  it('refuses a bucket name or prefix S3 would not take, before any request', () => {
    for (const bucket of ['', 'ab', 'Upper', 'under_score', '-start', 'a..b', 'x'.repeat(64)]) {
      expect(() => new S3BlobStore({ bucket })).toThrow(/bucket name/);
    }
    for (const prefix of ['', '/a', 'a/', 'a//b', '../a', 'a/./b', '.hidden', 'a b', 'a?b']) {
      expect(() => new S3BlobStore({ bucket: 'fine-bucket', prefix })).toThrow(/prefix/);
    }
  });
});

describe('S3BlobStore errors', () => {
  const everyOperation = (store: S3BlobStore): Array<[string, () => Promise<unknown>]> => [
    ['checkBucket', () => store.checkBucket()],
    ['put', () => store.put('a/b', Buffer.from('x'), 'text/plain')],
    ['get', () => store.get('a/b')],
    ['getStream', () => store.getStream('a/b')],
    ['delete', () => store.delete('a/b')],
    ['deleteAllUnder', () => store.deleteAllUnder('a')],
  ];

  async function expectEvery(store: S3BlobStore, code: BlobStoreErrorCode, message: RegExp): Promise<void> {
    for (const [name, operation] of everyOperation(store)) {
      const error = await expectStoreError(operation(), code).catch((e: unknown) => {
        throw new Error(`${name}: ${String(e)}`);
      });
      expect(error.message).toMatch(message);
    }
  }

  it('a missing bucket: BUCKET_NOT_FOUND from every operation, naming the bucket', async () => {
    const store = s3Store({ bucket: 'no-such-bucket' });
    await expectEvery(store, 'BUCKET_NOT_FOUND', /bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+.*does not exist/);
  });

  it('credentials the service does not know: STORE_ACCESS_DENIED from every operation, saying to check them', async () => {
    const bucket = await s3.createBucket();
    const store = new S3BlobStore({
      bucket,
      endpoint: s3.endpoint,
      region: S3_REGION,
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' },
    });
    stores.push(store);
    await expectEvery(store, 'STORE_ACCESS_DENIED', /refused \((InvalidAccessKeyId|Unknown) 403.*check the credentials/);
    expect(await s3.listKeys(bucket)).toEqual([]);
  });

  it('a service that does not answer: STORE_UNAVAILABLE, after the retries, naming the endpoint', async () => {
    // A port that was free a moment ago: connections are refused.
    const closed = await new Promise<number>((resolve) => {
      const server: Server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const store = s3Store({ bucket: 'any-bucket', endpoint: `http://127.0.0.1:${closed}` });
    await expectEvery(store, 'STORE_UNAVAILABLE', new RegExp(`127\\.0\\.0\\.1:${closed}.*ECONNREFUSED`));
  });

  it('openBlobStore checks the bucket before anything is served, and opens one that exists', async () => {
    const missing = openBlobStore({
      kind: 's3',
      bucket: 'no-such-bucket',
      endpoint: s3.endpoint,
      region: S3_REGION,
      credentials: S3_CREDENTIALS,
    });
    await expectStoreError(missing, 'BUCKET_NOT_FOUND');
    const bucket = await s3.createBucket();
    const opened = await openBlobStore({ kind: 's3', bucket, endpoint: s3.endpoint, region: S3_REGION, credentials: S3_CREDENTIALS });
    try {
      await opened.store.put('a', Buffer.from('x'), 'text/plain');
      expect(await s3.listKeys(bucket)).toEqual(['a']);
      const stream = await opened.store.getStream('a');
      expect((await readStream(stream!.body)).toString()).toBe('x');
    } finally {
      opened.close();
    }
  });
});
