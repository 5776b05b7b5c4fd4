// `npm start`'s entry point with ATELIER_BLOB_STORE=s3, against an S3-compatible server of the
// test's own on loopback: a bucket that is missing or refuses stops start-up with one line
// (and exit status 1) before anything is served; a bucket that is there takes every blob,
// the demo store's images included, and nothing lands in the data directory's blobs folder.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, waitFor, type ServerProcess } from '../support/process';
import { startS3Server, type S3TestServer } from '../support/s3';

let s3: S3TestServer;
const dataDirs: string[] = [];
const running: ServerProcess[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
});

afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  await s3.stop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function start(env: Record<string, string>): ServerProcess {
  const dataDir = mkdtempSync(join(tmpdir(), 'atelier-s3-start-'));
  dataDirs.push(dataDir);
  const server = spawnServer({ ...s3.env, ATELIER_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ...env });
  running.push(server);
  return server;
}

/** The line start.ts prints when start-up fails (the output also holds the SDK's Node version notice). */
function failureLine(output: string): string | undefined {
  return output.split('\n').find((line) => line.startsWith('atelier failed to start:'));
}

describe('ATELIER_BLOB_STORE=s3 at start-up', () => {
  test('a missing bucket stops start-up with one line naming it', async () => {
    const server = start({ ATELIER_S3_BUCKET: 'no-such-bucket' });
    expect(await server.exited).toBe(1);
    expect(failureLine(server.output())).toMatch(
      /^atelier failed to start: HeadBucket on bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+ failed: the bucket does not exist/,
    );
    expect(server.output()).not.toContain('serving GraphQL');
  });

  test('credentials the service refuses stop start-up with one line saying to check them', async () => {
    const bucket = await s3.createBucket();
    const server = start({ ATELIER_S3_BUCKET: bucket, AWS_ACCESS_KEY_ID: 'NOBODY' });
    expect(await server.exited).toBe(1);
    expect(failureLine(server.output())).toMatch(
      new RegExp(`^atelier failed to start: HeadBucket on bucket "${bucket}" .* was refused \\(.*403.*check the credentials`),
    );
  });

  test("a bucket that is there takes every blob: the demo store's images are objects, none is a file", async () => {
    const bucket = await s3.createBucket();
    const server = start({ ATELIER_S3_BUCKET: bucket, ATELIER_S3_PREFIX: 'embedded' });
    await waitFor(() => server.output().includes('Demo tenant created') || server.child.exitCode !== null, 120_000, 'the embedded server');
    expect(server.output()).toContain('Demo tenant created');
    const keys = await s3.listKeys(bucket);
    expect(keys.filter((key) => key.startsWith('embedded/garments/')).length).toBeGreaterThan(0);
    expect(keys.filter((key) => key.startsWith('embedded/photos/')).length).toBeGreaterThan(0);
    expect(keys.every((key) => key.startsWith('embedded/'))).toBe(true);
    const dataDir = dataDirs[dataDirs.length - 1]!;
    // The embedded database, the generated secrets and the demo credentials stay local; blobs do not.
    expect(existsSync(join(dataDir, 'blobs'))).toBe(false);
    expect(readdirSync(dataDir).sort()).toEqual(['admin-token', 'db', 'demo.json', 'signing-secret']);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
