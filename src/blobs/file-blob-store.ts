/**
 * BlobStore on the local file system, for the embedded deployment and tests.
 *
 * Layout: the blob under key `a/b/c` is the file `<root>/a/b/c.blob` (the suffix
 * lets `a` and `a/b` coexist as file and directory). Each file holds a small
 * header with the content type, then the bytes, so one rename publishes both
 * together: a sidecar would let a reader pair new bytes with an old type.
 *
 * Safety: keys are validated (no dots, so no `..`), the lexical path is checked
 * to stay inside the root, and every directory on the way and the file itself
 * are refused if they are symbolic links (lstat walk, O_NOFOLLOW), so a link
 * planted inside the root cannot lead reads or writes outside it. The store
 * assumes only this process writes under the root; someone who can, could race
 * the checks.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BlobStoreError,
  DEFAULT_MAX_BLOB_BYTES,
  assertBlobData,
  assertBlobLength,
  assertBlobSize,
  assertValidBlobKey,
  assertValidContentType,
  exactLength,
  type BlobReadStream,
  type BlobStore,
  type StoredBlob,
} from './blob-store';

const MAGIC = Buffer.from('ATBLOB1\n', 'latin1');
const BLOB_SUFFIX = '.blob';
// The header holds only the content type (at most 200 characters): anything longer is damage.
const MAX_HEADER_BYTES = 4096;

interface BlobLocation {
  segments: string[];
  fileName: string;
}

interface OpenBlobFile {
  handle: fs.FileHandle;
  dataStart: number;
  byteLength: number;
  contentType: string;
}

export interface FileBlobStoreOptions {
  /** Largest blob in bytes; default DEFAULT_MAX_BLOB_BYTES (256 MiB). Larger: BLOB_TOO_LARGE. */
  maxBlobBytes?: number;
}

export class FileBlobStore implements BlobStore {
  private readonly root: string;
  private readonly maxBlobBytes: number;

  /** `rootDir` is created on the first write if missing. */
  constructor(rootDir: string, options: FileBlobStoreOptions = {}) {
    this.root = path.resolve(rootDir);
    this.maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  async put(key: string, data: Buffer, contentType: string): Promise<void> {
    const location = this.locate(key);
    assertValidContentType(contentType);
    assertBlobData(data);
    assertBlobSize(key, data.length, this.maxBlobBytes);
    // writeFile loops over partial writes, unlike a single write/writev.
    await this.publish(location, contentType, (handle, header) => handle.writeFile(Buffer.concat([header, data])));
  }

  async putStream(key: string, body: Readable, contentType: string, byteLength: number): Promise<void> {
    const location = this.locate(key);
    assertValidContentType(contentType);
    assertBlobLength(key, byteLength, this.maxBlobBytes);
    try {
      await this.publish(location, contentType, async (handle, header) => {
        await handle.writeFile(header);
        // Each writeFile appends at the file's position and loops over partial writes; the
        // handle stays publish()'s to sync and close (a write stream would hold it open).
        await pipeline(body, exactLength(key, byteLength), async (chunks: AsyncIterable<Buffer>) => {
          for await (const chunk of chunks) await handle.writeFile(chunk);
        });
      });
    } finally {
      // Failed before the pipeline took it (directories, the temp file): not left half-read.
      if (!body.readableEnded) body.destroy();
    }
  }

  /**
   * Writes a blob into a temp file beside its target (the file's header, then whatever `write`
   * adds after it), syncs it and renames it over the target: readers see all of it or none.
   * On failure the temp file is removed.
   */
  private async publish(
    location: BlobLocation,
    contentType: string,
    write: (handle: fs.FileHandle, header: Buffer) => Promise<void>,
  ): Promise<void> {
    const dir = await this.openDirectories(location.segments, { create: true });
    if (dir === null) throw new Error('unreachable: directories are created');
    const target = path.join(dir, location.fileName);
    await this.refuseLink(target);

    const header = Buffer.from(JSON.stringify({ contentType }), 'utf8');
    const headerLength = Buffer.alloc(4);
    headerLength.writeUInt32BE(header.length);
    // Dot-prefixed: no key segment can start with a dot, so no key ever names a temp file.
    const temp = path.join(dir, `.${location.fileName}.${randomBytes(8).toString('hex')}.tmp`);
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
    // Private to the server's user, like the whole data directory (src/main/data-dir.ts).
    const handle = await fs.open(temp, flags, 0o600);
    try {
      try {
        await write(handle, Buffer.concat([MAGIC, headerLength, header]));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<StoredBlob | null> {
    const handle = await this.openFile(key);
    if (handle === null) return null;
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw unsafe(key);
      assertBlobSize(key, stats.size, this.maxBlobBytes + MAX_HEADER_BYTES + MAGIC.length + 4);
      // One read for header and bytes: each file operation is a turn of the thread pool and of
      // the event loop, which on a busy process cost more than reading a few bytes twice.
      const whole = await readExactly(handle, stats.size, 0, key);
      const { dataStart, contentType } = parseBlobHeader(whole, key);
      assertBlobSize(key, stats.size - dataStart, this.maxBlobBytes);
      return { data: whole.subarray(dataStart), contentType };
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string): Promise<BlobReadStream | null> {
    const file = await this.openBlobFile(key);
    if (file === null) return null;
    // The open descriptor keeps reading the version it opened, even if a put renames another over it.
    // The stream owns the handle from here: it closes it at the end or when destroyed.
    const body = file.handle.createReadStream({ start: file.dataStart });
    return { body, contentType: file.contentType, byteLength: file.byteLength };
  }

  async delete(key: string): Promise<void> {
    const location = this.locate(key);
    const dir = await this.openDirectories(location.segments, { create: false });
    if (dir === null) return;
    const target = path.join(dir, location.fileName);
    await this.refuseLink(target);
    await fs.rm(target, { force: true });
  }

  async deleteAllUnder(prefix: string): Promise<void> {
    assertValidBlobKey(prefix);
    // The walk refuses a link anywhere on the way, the folder itself included; rm removes links
    // inside the folder without following them.
    const dir = await this.openDirectories(prefix.split('/'), { create: false });
    if (dir === null) return;
    await fs.rm(dir, { recursive: true, force: true });
  }

  async exists(key: string): Promise<boolean> {
    const location = this.locate(key);
    const dir = await this.openDirectories(location.segments, { create: false });
    if (dir === null) return false;
    const stats = await lstatOrNull(path.join(dir, location.fileName));
    if (stats?.isSymbolicLink()) throw unsafe(key);
    return stats?.isFile() ?? false;
  }

  /** The blob file opened for reading (no link followed), or null when there is none. The caller closes the handle. */
  private async openFile(key: string): Promise<fs.FileHandle | null> {
    const location = this.locate(key);
    const dir = await this.openDirectories(location.segments, { create: false });
    if (dir === null) return null;
    try {
      return await fs.open(path.join(dir, location.fileName), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      if (errorCode(error) === 'ELOOP') throw unsafe(key);
      throw error;
    }
  }

  /** The blob file opened (no link followed) with its header read, or null when there is none. The caller closes the handle. */
  private async openBlobFile(key: string): Promise<OpenBlobFile | null> {
    const handle = await this.openFile(key);
    if (handle === null) return null;
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw unsafe(key);
      const header = await readBlobHeader(handle, stats.size, key);
      return { handle, ...header, byteLength: stats.size - header.dataStart };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  private locate(key: string): BlobLocation {
    assertValidBlobKey(key);
    const parts = key.split('/');
    const last = parts.pop() as string;
    const fileName = last + BLOB_SUFFIX;
    // Belt and braces: the validated key must still resolve inside the root.
    const resolved = path.resolve(this.root, ...parts, fileName);
    const relative = path.relative(this.root, resolved);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) throw unsafe(key);
    return { segments: parts, fileName };
  }

  /**
   * Walks from the root down to the blob's directory, refusing any step that is
   * not a real directory (a symlink above all). Returns null when a directory
   * is missing and `create` is false.
   */
  private async openDirectories(segments: string[], options: { create: boolean }): Promise<string | null> {
    if (options.create) await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    let dir: string;
    try {
      dir = await fs.realpath(this.root);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' && !options.create) return null;
      throw error;
    }
    if (!options.create) {
      // Reading: every step looked at at once (one turn, not one per step), judged in order.
      const steps = segments.map((_, i) => path.join(dir, ...segments.slice(0, i + 1)));
      const looked = await Promise.allSettled(steps.map((step) => lstatOrNull(step)));
      for (const [i, outcome] of looked.entries()) {
        if (outcome.status === 'rejected') throw outcome.reason;
        if (outcome.value === null) return null;
        if (!outcome.value.isDirectory()) {
          throw new BlobStoreError('UNSAFE_BLOB_PATH', `Blob path component ${JSON.stringify(segments[i])} is not a plain directory.`);
        }
      }
      return steps[steps.length - 1] ?? dir;
    }
    for (const segment of segments) {
      dir = path.join(dir, segment);
      let stats = await lstatOrNull(dir);
      if (stats === null) {
        if (!options.create) return null;
        try {
          await fs.mkdir(dir, { mode: 0o700 });
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw error;
        }
        stats = await lstatOrNull(dir);
      }
      if (!stats?.isDirectory()) {
        throw new BlobStoreError('UNSAFE_BLOB_PATH', `Blob path component ${JSON.stringify(segment)} is not a plain directory.`);
      }
    }
    return dir;
  }

  private async refuseLink(target: string): Promise<void> {
    const stats = await lstatOrNull(target);
    if (stats !== null && !stats.isFile()) {
      throw new BlobStoreError('UNSAFE_BLOB_PATH', `Blob file ${JSON.stringify(path.basename(target))} is not a regular file.`);
    }
  }
}

/** Checks the magic and the JSON header at the start of a whole blob file read into memory. */
function parseBlobHeader(whole: Buffer, key: string): { dataStart: number; contentType: string } {
  const corrupt = () => new BlobStoreError('CORRUPT_BLOB', `Blob ${JSON.stringify(key)} has an unreadable header.`);
  const prefixLength = MAGIC.length + 4;
  if (whole.length < prefixLength || !whole.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt();
  const headerLength = whole.readUInt32BE(MAGIC.length);
  const dataStart = prefixLength + headerLength;
  if (headerLength > MAX_HEADER_BYTES || dataStart > whole.length) throw corrupt();
  let header: unknown;
  try {
    header = JSON.parse(whole.subarray(prefixLength, dataStart).toString('utf8'));
  } catch {
    throw corrupt();
  }
  const contentType = (header as { contentType?: unknown } | null)?.contentType;
  if (typeof contentType !== 'string') throw corrupt();
  return { dataStart, contentType };
}

/** Reads and checks the magic and the JSON header: where the bytes start, and their content type. */
async function readBlobHeader(handle: fs.FileHandle, fileSize: number, key: string): Promise<{ dataStart: number; contentType: string }> {
  const corrupt = () => new BlobStoreError('CORRUPT_BLOB', `Blob ${JSON.stringify(key)} has an unreadable header.`);
  const prefixLength = MAGIC.length + 4;
  if (fileSize < prefixLength) throw corrupt();
  const prefix = await readExactly(handle, prefixLength, 0, key);
  if (!prefix.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt();
  const headerLength = prefix.readUInt32BE(MAGIC.length);
  const dataStart = prefixLength + headerLength;
  if (headerLength > MAX_HEADER_BYTES || dataStart > fileSize) throw corrupt();
  let header: unknown;
  try {
    header = JSON.parse((await readExactly(handle, headerLength, prefixLength, key)).toString('utf8'));
  } catch (error) {
    if (error instanceof BlobStoreError) throw error;
    throw corrupt();
  }
  const contentType = (header as { contentType?: unknown } | null)?.contentType;
  if (typeof contentType !== 'string') throw corrupt();
  return { dataStart, contentType };
}

/** `length` bytes from `position`; a file shorter than that is corrupt (it never shrinks: puts rename a new file in). */
async function readExactly(handle: fs.FileHandle, length: number, position: number, key: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new BlobStoreError('CORRUPT_BLOB', `Blob ${JSON.stringify(key)} is shorter than its file said.`);
    filled += bytesRead;
  }
  return buffer;
}

async function lstatOrNull(target: string) {
  try {
    return await fs.lstat(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return null;
    throw error;
  }
}

function unsafe(key: string): BlobStoreError {
  return new BlobStoreError('UNSAFE_BLOB_PATH', `Blob key ${JSON.stringify(key)} leads to a link or outside the store.`);
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
