/**
 * FileBlobStore on a real temp directory: the store contract (test/support/blob-store-contract.ts),
 * then what is the file system's own: its layout, atomic replacement by rename, and that no
 * key and no planted symlink can lead it outside its root.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileBlobStore } from '../../src/blobs';
import { describeBlobStoreContract, expectStoreError, readStream } from '../support/blob-store-contract';

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
  return entries.map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)) + (entry.isDirectory() ? '/' : '')).sort();
}

describe('FileBlobStore', () => {
  describeBlobStoreContract(
    async () => ({ store: (options) => new FileBlobStore(root, options), listStored: () => listTree(sandbox) }),
    async () => undefined,
  );
});

describe('FileBlobStore on its directory', () => {
  it('creates a missing root on the first write and reads nothing before', async () => {
    const lazy = new FileBlobStore(path.join(sandbox, 'not', 'yet'));
    expect(await lazy.get('a')).toBeNull();
    expect(await lazy.getStream('a')).toBeNull();
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

  it('reports a file that is not a blob as CORRUPT_BLOB, to get and getStream alike', async () => {
    await fs.writeFile(path.join(root, 'k.blob'), 'not a blob file');
    await expectStoreError(store.get('k'), 'CORRUPT_BLOB');
    await expectStoreError(store.getStream('k'), 'CORRUPT_BLOB');
    // A header that claims more than the file holds.
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000);
    await fs.writeFile(path.join(root, 'short.blob'), Buffer.concat([Buffer.from('ATBLOB1\n', 'latin1'), header, Buffer.from('{}')]));
    await expectStoreError(store.get('short'), 'CORRUPT_BLOB');
  });

  it('streams the version it opened, even while a put replaces the blob', async () => {
    const size = 4 * 1024 * 1024;
    await store.put('hot', Buffer.alloc(size, 'a'), 'image/png');
    const stream = await store.getStream('hot');
    await store.put('hot', Buffer.alloc(size, 'b'), 'image/jpeg');
    expect(stream?.contentType).toBe('image/png');
    expect((await readStream(stream!.body)).equals(Buffer.alloc(size, 'a'))).toBe(true);
    expect((await store.get('hot'))?.contentType).toBe('image/jpeg');
  });
});

describe('FileBlobStore writes atomically', () => {
  it('leaves only the blob file behind, no temp file', async () => {
    await store.put('a/b', Buffer.alloc(100_000, 1), 'image/png');
    await store.put('a/b', Buffer.alloc(100_000, 2), 'image/png');
    expect(await listTree(root)).toEqual(['a/', 'a/b.blob']);
  });

  it('does not expose a temp file left by a crashed write', async () => {
    await fs.writeFile(path.join(root, '.k.blob.0123456789abcdef.tmp'), 'partial');
    expect(await store.get('k')).toBeNull();
    expect(await store.exists('k')).toBe(false);
  });

  it('keeps the previous version and no temp file when a replacement is refused', async () => {
    await store.put('k', Buffer.from('good'), 'image/png');
    await expect(store.put('k', Buffer.from('bad'), 'bad type')).rejects.toThrow();
    expect(await store.get('k')).toEqual({ data: Buffer.from('good'), contentType: 'image/png' });
    expect(await listTree(root)).toEqual(['k.blob']);
  });
});

describe('FileBlobStore stays inside its root', () => {
  // Hostile keys are the contract's (its listing is the whole sandbox, beside the root included).
  describe('with symlinks planted inside the root', () => {
    // A genuine blob outside the root, in the store's own format, that a link could expose.
    beforeEach(async () => {
      await new FileBlobStore(outside).put('x', Buffer.from('outside blob'), 'text/plain');
    });

    it('refuses a directory link pointing outside, for every operation', async () => {
      await fs.symlink(outside, path.join(root, 'evil'));
      await expectStoreError(store.get('evil/x'), 'UNSAFE_BLOB_PATH');
      await expectStoreError(store.getStream('evil/x'), 'UNSAFE_BLOB_PATH');
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
      await expectStoreError(store.getStream('stolen'), 'UNSAFE_BLOB_PATH');
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
      await expectStoreError(store.getStream('leak'), 'UNSAFE_BLOB_PATH');
      expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('outside secret');
    });
  });
});
