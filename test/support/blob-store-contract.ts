// What every BlobStore does, as one suite each store runs on its real storage (a temp
// directory, an S3-compatible server): round trips, replacement, prefixes, streams, size
// limits, and keys that must never reach the storage.
import os from 'node:os';
import { Readable } from 'node:stream';
import { BlobStoreError, type BlobStore, type BlobStoreErrorCode } from '../../src/blobs';

export interface BlobStoreHarness {
  /** A store on this test's storage (empty at first); every call sees the same blobs. */
  store(options?: { maxBlobBytes?: number }): BlobStore;
  /** Every name in the storage and around it, to prove that nothing was written. */
  listStored(): Promise<string[]>;
}

export async function expectStoreError(promise: Promise<unknown>, code: BlobStoreErrorCode): Promise<BlobStoreError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BlobStoreError);
  expect(error).toMatchObject({ code });
  return error as BlobStoreError;
}

export async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** Keys that could reach outside a root or mean something to a file system or URL: each is refused. */
export const HOSTILE_KEYS: unknown[] = [
  '../x',
  '..',
  '.',
  'a/../../x',
  'a/b/../c',
  './a',
  'a/./b',
  '/etc/passwd',
  '/x',
  `${os.tmpdir()}/x`,
  '%2e%2e/x',
  '..%2fx',
  '%2e%2e%2f%2e%2e%2fx',
  '..\\x',
  'a\\..\\..\\x',
  'a\\b',
  'C:\\x',
  'C:/x',
  'a\0b',
  'a/\0/b',
  '\0',
  '\u2024\u2024/x', // one dot leader
  '\uff0e\uff0e/x', // fullwidth full stop
  '\u3002\u3002/x', // ideographic full stop
  '.\u200b./x', // zero-width space between dots
  'a//b',
  'a/',
  '/',
  '',
  ' a',
  'a b',
  'a\nb',
  'A',
  'Photos/p1',
  '~/x',
  '-a',
  '_a',
  'a/-b',
  'a.blob',
  'a/.k.blob.0123.tmp',
  'a?x=1',
  'a#b',
  'x'.repeat(201),
  null,
  undefined,
  42,
  ['a'],
  { toString: () => 'a' },
];

export function describeBlobStoreContract(setUp: () => Promise<BlobStoreHarness>, tearDown: () => Promise<void>): void {
  let harness: BlobStoreHarness;
  let store: BlobStore;

  beforeEach(async () => {
    harness = await setUp();
    store = harness.store();
  });
  afterEach(tearDown);

  describe('round trip', () => {
    it('puts, gets, checks and deletes a blob', async () => {
      const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      expect(await store.exists('photos/p1')).toBe(false);
      expect(await store.get('photos/p1')).toBeNull();

      await store.put('photos/p1', data, 'image/png');
      expect(await store.exists('photos/p1')).toBe(true);
      const blob = await store.get('photos/p1');
      expect(blob?.contentType).toBe('image/png');
      expect(blob?.data.equals(data)).toBe(true);

      await store.delete('photos/p1');
      expect(await store.exists('photos/p1')).toBe(false);
      expect(await store.get('photos/p1')).toBeNull();
    });

    it('replaces a blob and its content type together', async () => {
      await store.put('k', Buffer.from('first'), 'image/png');
      await store.put('k', Buffer.from('second'), 'image/jpeg');
      expect(await store.get('k')).toEqual({ data: Buffer.from('second'), contentType: 'image/jpeg' });
    });

    it('stores an empty blob and content types with parameters', async () => {
      await store.put('empty', Buffer.alloc(0), 'text/plain; charset=utf-8');
      expect(await store.get('empty')).toEqual({ data: Buffer.alloc(0), contentType: 'text/plain; charset=utf-8' });
    });

    it('lets a key and a key below it coexist', async () => {
      await store.put('tenants/t1', Buffer.from('parent'), 'text/plain');
      await store.put('tenants/t1/photos/p-1_a', Buffer.from('child'), 'text/plain');
      expect((await store.get('tenants/t1'))?.data.toString()).toBe('parent');
      expect((await store.get('tenants/t1/photos/p-1_a'))?.data.toString()).toBe('child');
      expect(await store.exists('tenants')).toBe(false);
      expect(await store.exists('tenants/t1/photos')).toBe(false);
    });

    it('deletes every blob under a prefix, however many, and nothing beside it', async () => {
      await store.put('previews/t1/r1', Buffer.from('the key itself'), 'text/plain');
      for (let step = 1; step <= 7; step++) await store.put(`previews/t1/r1/${step}`, Buffer.from([step]), 'image/png');
      await store.put('previews/t1/r1/deeper/9', Buffer.from('c'), 'image/png');
      await store.put('previews/t1/r10/3', Buffer.from('d'), 'image/png');
      await store.put('previews/t1/r1-3', Buffer.from('e'), 'image/png');
      await store.deleteAllUnder('previews/t1/r1');
      for (let step = 1; step <= 7; step++) expect(await store.exists(`previews/t1/r1/${step}`)).toBe(false);
      expect(await store.exists('previews/t1/r1/deeper/9')).toBe(false);
      expect(await store.exists('previews/t1/r1')).toBe(true);
      expect(await store.exists('previews/t1/r10/3')).toBe(true);
      expect(await store.exists('previews/t1/r1-3')).toBe(true);
      await expect(store.deleteAllUnder('previews/t1/r1')).resolves.toBeUndefined();
      await expect(store.deleteAllUnder('never/stored')).resolves.toBeUndefined();
      await expectStoreError(store.deleteAllUnder('previews/../t1'), 'INVALID_BLOB_KEY');
      await expectStoreError(store.deleteAllUnder(''), 'INVALID_BLOB_KEY');
    });

    it('treats deleting a missing blob as done', async () => {
      await expect(store.delete('never/stored')).resolves.toBeUndefined();
    });

    it.each(['', 'image', 'text/html\r\nSet-Cookie: a=b', 'image/png\n', 'ïmage/png', 'a/b; c'])(
      'refuses content type %j and writes nothing',
      async (contentType) => {
        const before = await harness.listStored();
        await expectStoreError(store.put('k', Buffer.from('x'), contentType), 'INVALID_CONTENT_TYPE');
        expect(await harness.listStored()).toEqual(before);
      },
    );

    it('keeps the previous version when a replacement is refused', async () => {
      await store.put('k', Buffer.from('good'), 'image/png');
      await expect(store.put('k', Buffer.from('bad'), 'bad type')).rejects.toThrow();
      expect(await store.get('k')).toEqual({ data: Buffer.from('good'), contentType: 'image/png' });
    });

    it('never shows a reader a half-written blob or a mismatched type', async () => {
      const size = 1024 * 1024;
      const versions = [
        { data: Buffer.alloc(size, 'a'), contentType: 'image/png' },
        { data: Buffer.alloc(size, 'b'), contentType: 'image/jpeg' },
      ];
      await store.put('hot', versions[0]!.data, versions[0]!.contentType);
      let writing = true;
      const writer = (async () => {
        try {
          for (let i = 1; i <= 8; i++) {
            const version = versions[i % 2]!;
            await store.put('hot', version.data, version.contentType);
          }
        } finally {
          writing = false;
        }
      })();
      let reads = 0;
      while (writing) {
        const blob = await store.get('hot');
        reads++;
        expect(blob).not.toBeNull();
        const expected = blob!.contentType === 'image/png' ? versions[0]! : versions[1]!;
        expect(blob!.data.length).toBe(size);
        expect(blob!.data.equals(expected.data)).toBe(true);
      }
      await writer;
      expect(reads).toBeGreaterThan(0);
    });
  });

  describe('streams', () => {
    it('streams a blob with its type and length', async () => {
      const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'z');
      await store.put('results/t1/r1', data, 'image/png');
      const blob = await store.getStream('results/t1/r1');
      expect(blob).toMatchObject({ contentType: 'image/png', byteLength: data.length });
      expect((await readStream(blob!.body)).equals(data)).toBe(true);
    });

    it('streams an empty blob, and null for a missing one', async () => {
      await store.put('empty', Buffer.alloc(0), 'application/octet-stream');
      const blob = await store.getStream('empty');
      expect(blob?.byteLength).toBe(0);
      expect((await readStream(blob!.body)).length).toBe(0);
      expect(await store.getStream('never/stored')).toBeNull();
    });

    it('lets a reader stop half-way, and keeps working after many did', async () => {
      await store.put('big', Buffer.alloc(1024 * 1024, 1), 'image/png');
      // More abandoned streams than the S3 store's connection pool holds (256): a stream that kept
      // its connection would leave the last requests waiting for one, and the test timing out.
      for (let i = 0; i < 300; i++) {
        const blob = await store.getStream('big');
        await new Promise<void>((resolve) => blob!.body.once('data', () => resolve()));
        blob!.body.destroy();
      }
      expect((await store.get('big'))?.data.length).toBe(1024 * 1024);
    });
  });

  describe('putStream', () => {
    /**
     * A body of `chunks` chunks of `size` bytes (byte value i for chunk i) that notes how many were read, then fails if `failAfter` is
     * given.
     */
    const body = (chunks: number, size: number, failAfter?: number) => {
      const read = { chunks: 0 };
      const stream = Readable.from(
        (async function* () {
          for (let i = 0; i < chunks; i++) {
            if (failAfter !== undefined && i === failAfter) throw new Error('the client went away');
            read.chunks = i + 1;
            yield Buffer.alloc(size, i);
          }
        })(),
      );
      return { stream, read };
    };
    const expected = (chunks: number, size: number) => Buffer.concat(Array.from({ length: chunks }, (_, i) => Buffer.alloc(size, i)));

    it('stores a streamed body of its declared length, replacing the previous blob', async () => {
      await store.put('uploads/t1/u1', Buffer.from('old'), 'image/png');
      const { stream } = body(40, 64 * 1024);
      await store.putStream('uploads/t1/u1', stream, 'image/jpeg', 40 * 64 * 1024);
      expect(await store.get('uploads/t1/u1')).toEqual({ data: expected(40, 64 * 1024), contentType: 'image/jpeg' });
    });

    it.each([
      ['ends before its declared length', 3, 4],
      ['has more than its declared length', 20, 2],
    ])(
      'refuses a body that %s (BLOB_LENGTH_MISMATCH), keeps the previous blob and writes nothing else',
      async (_name, chunks, declaredChunks) => {
        await store.put('k', Buffer.from('previous'), 'image/png');
        const before = await harness.listStored();
        const { stream, read } = body(chunks, 1024);
        await expectStoreError(store.putStream('k', stream, 'image/png', declaredChunks * 1024), 'BLOB_LENGTH_MISMATCH');
        // A longer body is not read to its end.
        if (chunks > declaredChunks) expect(read.chunks).toBeLessThan(chunks);
        expect(stream.destroyed).toBe(true);
        expect(await harness.listStored()).toEqual(before);
        expect(await store.get('k')).toEqual({ data: Buffer.from('previous'), contentType: 'image/png' });
      },
    );

    it("fails with the body's own error when it breaks half-way, and writes nothing", async () => {
      const before = await harness.listStored();
      const { stream } = body(10, 1024, 5);
      await expect(store.putStream('k', stream, 'image/png', 10 * 1024)).rejects.toThrow('the client went away');
      expect(await harness.listStored()).toEqual(before);
      expect(await store.exists('k')).toBe(false);
    });

    it('refuses a length over the limit, a bad type or key before reading anything', async () => {
      const small = harness.store({ maxBlobBytes: 1000 });
      const before = await harness.listStored();
      for (const [attempt, code] of [
        [(s: Readable) => small.putStream('k', s, 'image/png', 1001), 'BLOB_TOO_LARGE'],
        [(s: Readable) => store.putStream('k', s, 'not a type', 10), 'INVALID_CONTENT_TYPE'],
        [(s: Readable) => store.putStream('../k', s, 'image/png', 10), 'INVALID_BLOB_KEY'],
      ] as const) {
        const { stream, read } = body(1, 10);
        await expectStoreError(attempt(stream), code);
        expect(read.chunks).toBe(0);
        stream.destroy();
      }
      expect(await harness.listStored()).toEqual(before);
    });
  });

  describe('size limits', () => {
    it('refuses a blob over the limit and writes nothing; takes one at the limit', async () => {
      const small = harness.store({ maxBlobBytes: 1000 });
      const before = await harness.listStored();
      const error = await expectStoreError(small.put('big', Buffer.alloc(1001), 'image/png'), 'BLOB_TOO_LARGE');
      expect(error.message).toContain('1001');
      expect(await harness.listStored()).toEqual(before);
      await small.put('big', Buffer.alloc(1000), 'image/png');
      expect((await small.get('big'))?.data.length).toBe(1000);
    });

    it('refuses to load a blob over the limit that something else stored, but streams it', async () => {
      await store.put('big', Buffer.alloc(5000, 7), 'image/png');
      const small = harness.store({ maxBlobBytes: 1000 });
      await expectStoreError(small.get('big'), 'BLOB_TOO_LARGE');
      const stream = await small.getStream('big');
      expect((await readStream(stream!.body)).equals(Buffer.alloc(5000, 7))).toBe(true);
    });
  });

  describe('keys', () => {
    it.each(HOSTILE_KEYS.map((key) => [JSON.stringify(key) ?? String(key), key]))(
      'refuses key %s in every operation and writes nothing',
      async (_, key) => {
        const k = key as string;
        const before = await harness.listStored();
        await expectStoreError(store.put(k, Buffer.from('pwned'), 'text/plain'), 'INVALID_BLOB_KEY');
        await expectStoreError(store.get(k), 'INVALID_BLOB_KEY');
        await expectStoreError(store.getStream(k), 'INVALID_BLOB_KEY');
        await expectStoreError(store.exists(k), 'INVALID_BLOB_KEY');
        await expectStoreError(store.delete(k), 'INVALID_BLOB_KEY');
        await expectStoreError(store.deleteAllUnder(k), 'INVALID_BLOB_KEY');
        expect(await harness.listStored()).toEqual(before);
      },
    );

    it('accepts 200 characters, the maximum', async () => {
      const key = 'x'.repeat(200);
      await store.put(key, Buffer.from('ok'), 'text/plain');
      expect(await store.exists(key)).toBe(true);
    });
  });
}
