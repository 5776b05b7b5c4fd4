// An S3-compatible server of the tests' own on 127.0.0.1 (s3rver, see s3-test-server.mjs),
// with the credentials it knows and helpers to make buckets and look inside them.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** The one account s3rver knows. */
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const S3_REGION = 'us-east-1';

export interface S3TestServer {
  endpoint: string;
  /** The variables that point a spawned Atelier process at this server (bucket and prefix apart). */
  env: Record<string, string>;
  /** Creates a bucket with a fresh name and returns the name. */
  createBucket(): Promise<string>;
  /** Every object key in the bucket (under `prefix`), sorted. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** Writes an object directly, as another program might. */
  putObject(bucket: string, key: string, body: Buffer, contentType?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'atelier-s3-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', join(__dirname, 's3-test-server.mjs'), directory], { stdio: 'pipe' });
  const port = await readPort(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, forcePathStyle: true, region: S3_REGION, credentials: S3_CREDENTIALS });
  return {
    endpoint,
    env: {
      ATELIER_BLOB_STORE: 's3',
      ATELIER_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
      AWS_REGION: S3_REGION,
    },
    async createBucket() {
      const bucket = `atelier-test-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async listKeys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((object) => object.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async putObject(bucket, key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    },
    async stop() {
      client.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function readPort(child: ChildProcessWithoutNullStreams): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const fail = (why: string) => reject(new Error(`the S3 test server did not start (${why}): ${output}`));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = /^\{"port":(\d+)\}$/m.exec(output);
      if (line) resolve(Number(line[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => fail(`exit ${code}`));
    child.once('error', (error) => fail(error.message));
  });
}
