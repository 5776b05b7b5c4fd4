// An S3-compatible server for the tests, on loopback, run as a child process by
// test/support/s3.ts: s3rver (a fake S3 on the file system) behind a small proxy.
//
// Why a child process: s3rver makes ListObjectsV2 continuation tokens with DES, which Node 20's
// OpenSSL 3 has only in its legacy provider (without it, any listing longer than one page is a
// 500); the parent starts this file with --openssl-legacy-provider.
// Why a proxy: s3rver accepts what real services refuse. The proxy refuses a DeleteObjects
// without a valid Content-MD5, as S3's documentation requires and older MinIO releases enforce.
// (s3rver checks that the access key exists, but does not verify SigV4 signatures.)
// What S3 guarantees and s3rver lacks: a PUT replaces an object whole. s3rver answers a PUT
// before its bytes are on disk, and rewrites the file in place while its metadata sits in
// another file, so a reader could get a mix of two versions, or a Content-Length its bytes
// never reach (and wait forever). Here a PUT writes a temporary file and renames it before
// it is answered, and the proxy lets a PUT of an object wait until its running reads ended
// (readers share an object, writers have it alone, in arrival order).
//
// Usage: node --openssl-legacy-provider s3-test-server.mjs <directory>. Prints {"port":N} once
// listening on 127.0.0.1; exits when its stdin closes (the parent went away).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';

// The object's bytes on disk, complete, before the PUT is answered (s3rver's own putObject
// resolves before its write stream has finished).
FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const content = Buffer.isBuffer(object.content) ? object.content : await readAll(object.content);
  await fs.mkdir(path.dirname(objectPath), { recursive: true });
  // Listings take only names ending in "._S3rver_object": the temporary file is never listed.
  const temporary = `${objectPath}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temporary, content);
  await fs.rename(temporary, objectPath);
  const md5 = crypto.createHash('md5').update(content).digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size: content.length, md5 };
};

async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Readers share a key, a writer has it alone; waiters are served in arrival order. */
class KeyLocks {
  constructor() {
    this.states = new Map();
  }

  /** Resolves with the function that releases the lock. */
  acquire(key, exclusive) {
    return new Promise((resolve) => {
      let state = this.states.get(key);
      if (!state) {
        state = { readers: 0, writer: false, waiting: [] };
        this.states.set(key, state);
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (exclusive) state.writer = false;
        else state.readers--;
        this.pump(key, state);
      };
      state.waiting.push({ exclusive, grant: () => resolve(release) });
      this.pump(key, state);
    });
  }

  pump(key, state) {
    while (state.waiting.length > 0 && !state.writer) {
      const next = state.waiting[0];
      if (next.exclusive && state.readers > 0) break;
      state.waiting.shift();
      if (next.exclusive) state.writer = true;
      else state.readers++;
      next.grant();
    }
    if (!state.writer && state.readers === 0 && state.waiting.length === 0) this.states.delete(key);
  }
}

async function main() {
  const directory = process.argv[2];
  if (!directory) throw new Error('usage: s3-test-server.mjs <directory>');
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, vhostBuckets: false });
  const inner = await s3rver.run();
  const agent = new http.Agent({ keepAlive: true });
  const locks = new KeyLocks();

  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://127.0.0.1');
      if (req.method === 'POST' && url.searchParams.has('delete')) {
        const md5 = crypto.createHash('md5').update(body).digest('base64');
        if (req.headers['content-md5'] !== md5) {
          refuse(res, 400, 'InvalidRequest', 'DeleteObjects requires one valid Content-MD5 header');
          return;
        }
      }
      const release = await locks.acquire(url.pathname, req.method !== 'GET' && req.method !== 'HEAD');
      res.once('close', release);
      const forward = http.request(
        { host: '127.0.0.1', port: inner.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: proxy.address().port })}\n`);

  const stop = () => {
    proxy.close();
    proxy.closeAllConnections();
    agent.destroy();
    s3rver.close().finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

function refuse(res, status, code, message) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
  res.end(xml);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
