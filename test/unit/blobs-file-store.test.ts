/**
 * FileBlobStore on a real temp directory: round trips, atomic replacement, and
 * that no key and no planted symlink can lead it outside its root.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobStoreError, FileBlobStore, type BlobStoreErrorCode } from '../../src/blobs';

let sandbox: string;
let root: string;
let outside: string;
let store: FileBlobStore;

beforeEach(async () => {
  sandbox = await fs.mkdtemp(path.join(os.tmpdir(), 'atelier-blobs-'));
  root = path.join(sandbox, 'root');
  outside = path.join(sandbox, 'outside');
  await fs.mkdir(root);
  await fs.mkdir(outside);
  await fs.writeFile(path.join(outside, 'secret.txt'), 'outside secret');
  store = new FileBlobStore(root);
});

afterEach(async () => {
  await fs.rm(sandbox, { recursive: true, force: true });
});

/** Every file and link under dir, relative, sorted. */
async function listTree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)) + (entry.isDirectory() ? '/' : ''))
    .sort();
}

async function expectStoreError(promise: Promise<unknown>, code: BlobStoreErrorCode): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(BlobStoreError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('FileBlobStore round trip', () => {
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

  it('deletes every blob under a prefix, and nothing beside it', async () => {
    await store.put('previews/t1/r1', Buffer.from('the key itself'), 'text/plain');
    await store.put('previews/t1/r1/3', Buffer.from('a'), 'image/png');
    await store.put('previews/t1/r1/7', Buffer.from('b'), 'image/png');
    await store.put('previews/t1/r1/deeper/9', Buffer.from('c'), 'image/png');
    await store.put('previews/t1/r10/3', Buffer.from('d'), 'image/png');
    await store.deleteAllUnder('previews/t1/r1');
    expect(await store.exists('previews/t1/r1/3')).toBe(false);
    expect(await store.exists('previews/t1/r1/deeper/9')).toBe(false);
    expect(await store.exists('previews/t1/r1')).toBe(true);
    expect(await store.exists('previews/t1/r10/3')).toBe(true);
    await expect(store.deleteAllUnder('previews/t1/r1')).resolves.toBeUndefined();
    await expect(store.deleteAllUnder('never/stored')).resolves.toBeUndefined();
    await expectStoreError(store.deleteAllUnder('previews/../t1'), 'INVALID_BLOB_KEY');
    await expectStoreError(store.deleteAllUnder(''), 'INVALID_BLOB_KEY');
  });

  it('treats deleting a missing blob as done', async () => {
    await expect(store.delete('never/stored')).resolves.toBeUndefined();
  });

  it('creates a missing root on the first write and reads nothing before', async () => {
    const lazy = new FileBlobStore(path.join(sandbox, 'not', 'yet'));
    expect(await lazy.get('a')).toBeNull();
    expect(await lazy.exists('a')).toBe(false);
    await lazy.delete('a');
    await lazy.put('a/b', Buffer.from('x'), 'text/plain');
    expect((await lazy.get('a/b'))?.data.toString()).toBe('x');
  });

  it('works when the root itself is reached through a symlink', async () => {
    await fs.symlink(root, path.join(sandbox, 'root-link'));
    const viaLink = new FileBlobStore(path.join(sandbox, 'root-link'));
    await viaLink.put('a/b', Buffer.from('x'), 'text/plain');
    expect((await store.get('a/b'))?.data.toString()).toBe('x');
  });

  it.each(['', 'image', 'text/html\r\nSet-Cookie: a=b', 'image/png\n', 'ïmage/png', 'a/b; c'])(
    'refuses content type %j',
    async (contentType) => {
      await expectStoreError(store.put('k', Buffer.from('x'), contentType), 'INVALID_CONTENT_TYPE');
      expect(await listTree(root)).toEqual([]);
    },
  );

  it('reports a file that is not a blob as CORRUPT_BLOB', async () => {
    await fs.writeFile(path.join(root, 'k.blob'), 'not a blob file');
    await expectStoreError(store.get('k'), 'CORRUPT_BLOB');
  });
});

describe('FileBlobStore writes atomically', () => {
  it('leaves only the blob file behind, no temp file', async () => {
    await store.put('a/b', Buffer.alloc(100_000, 1), 'image/png');
    await store.put('a/b', Buffer.alloc(100_000, 2), 'image/png');
    expect(await listTree(root)).toEqual(['a/', 'a/b.blob']);
  });

  it('never shows a reader a half-written blob or a mismatched type', async () => {
    const size = 2 * 1024 * 1024;
    const versions = [
      { data: Buffer.alloc(size, 'a'), contentType: 'image/png' },
      { data: Buffer.alloc(size, 'b'), contentType: 'image/jpeg' },
    ];
    await store.put('hot', versions[0]!.data, versions[0]!.contentType);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 20; i++) {
        const version = versions[i % 2]!;
        await store.put('hot', version.data, version.contentType);
      }
      writing = false;
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

  it('does not expose a temp file left by a crashed write', async () => {
    await fs.writeFile(path.join(root, '.k.blob.0123456789abcdef.tmp'), 'partial');
    expect(await store.get('k')).toBeNull();
    expect(await store.exists('k')).toBe(false);
  });

  it('keeps the previous version when a replacement is refused', async () => {
    await store.put('k', Buffer.from('good'), 'image/png');
    await expect(store.put('k', Buffer.from('bad'), 'bad type')).rejects.toThrow();
    expect(await store.get('k')).toEqual({ data: Buffer.from('good'), contentType: 'image/png' });
    expect(await listTree(root)).toEqual(['k.blob']);
  });
});

describe('FileBlobStore stays inside its root', () => {
  const hostileKeys: unknown[] = [
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
    'x'.repeat(201),
    null,
    undefined,
    42,
    ['a'],
    { toString: () => 'a' },
  ];

  it.each(hostileKeys.map((key) => [JSON.stringify(key) ?? String(key), key]))(
    'refuses key %s in every operation and writes nothing',
    async (_, key) => {
      const k = key as string;
      await expectStoreError(store.put(k, Buffer.from('pwned'), 'text/plain'), 'INVALID_BLOB_KEY');
      await expectStoreError(store.get(k), 'INVALID_BLOB_KEY');
      await expectStoreError(store.exists(k), 'INVALID_BLOB_KEY');
      await expectStoreError(store.delete(k), 'INVALID_BLOB_KEY');
      expect(await listTree(root)).toEqual([]);
      expect(await listTree(sandbox)).toEqual(['outside/', 'outside/secret.txt', 'root/']);
    },
  );

  it('accepts 200 characters, the maximum', async () => {
    const key = 'x'.repeat(200);
    await store.put(key, Buffer.from('ok'), 'text/plain');
    expect(await store.exists(key)).toBe(true);
  });

  describe('with symlinks planted inside the root', () => {
    // A genuine blob outside the root, in the store's own format, that a link could expose.
    beforeEach(async () => {
      await new FileBlobStore(outside).put('x', Buffer.from('outside blob'), 'text/plain');
    });

    it('refuses a directory link pointing outside, for every operation', async () => {
      await fs.symlink(outside, path.join(root, 'evil'));
      await expectStoreError(store.get('evil/x'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.exists('evil/x'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.put('evil/y', Buffer.from('pwned'), 'text/plain'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.put('evil/x', Buffer.from('pwned'), 'text/plain'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.delete('evil/x'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.deleteAllUnder('evil'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.deleteAllUnder('evil/x'), 'UNSAFE_BLOB_PATH');
      expect(await listTree(outside)).toEqual(['secret.txt', 'x.blob']);
      expect((await new FileBlobStore(outside).get('x'))?.data.toString()).toBe('outside blob');
    });

    it('refuses a link deeper in the path', async () => {
      await fs.mkdir(path.join(root, 'tenants'));
      await fs.symlink(outside, path.join(root, 'tenants', 't1'));
      await expectStoreError(store.get('tenants/t1/x'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.put('tenants/t1/new/y', Buffer.from('pwned'), 'text/plain'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.deleteAllUnder('tenants/t1'), 'UNSAFE_BLOB_PATH');
      expect(await listTree(outside)).toEqual(['secret.txt', 'x.blob']);
    });

    it('refuses a relative link that climbs out', async () => {
      await fs.symlink('../outside', path.join(root, 'up'));
      await expectStoreError(store.get('up/x'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.put('up/z', Buffer.from('pwned'), 'text/plain'), 'UNSAFE_BLOB_PATH');
      expect(await listTree(outside)).toEqual(['secret.txt', 'x.blob']);
    });

    it('refuses a blob file that is a link, without reading, replacing or deleting its target', async () => {
      await fs.symlink(path.join(outside, 'x.blob'), path.join(root, 'stolen.blob'));
      await expectStoreError(store.get('stolen'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.exists('stolen'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.put('stolen', Buffer.from('pwned'), 'text/plain'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.delete('stolen'), 'UNSAFE_BLOB_PATH');
      expect((await new FileBlobStore(outside).get('x'))?.data.toString()).toBe('outside blob');
      expect((await fs.lstat(path.join(root, 'stolen.blob'))).isSymbolicLink()).toBe(true);
    });

    it('deletes a folder that holds a link without following it', async () => {
      await store.put('previews/r1/1', Buffer.from('a'), 'image/png');
      await fs.symlink(outside, path.join(root, 'previews', 'r1', 'escape'));
      await store.deleteAllUnder('previews/r1');
      expect(await listTree(root)).toEqual(['previews/']);
      expect(await listTree(outside)).toEqual(['secret.txt', 'x.blob']);
    });

    it('refuses a link to a file outside, even a non-blob one', async () => {
      await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'leak.blob'));
      await expectStoreError(store.get('leak'), 'UNSAFE_BLOB_PATH');
      expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('outside secret');
    });
  });
});
