/**
 * BlobStore on S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, ...), so API and
 * worker processes on different machines share blobs without sharing a file system.
 *
 * Layout: the blob under key `a/b` is the object `<prefix>/a/b` of the bucket (`a/b` without a
 * prefix), its content type the object's Content-Type. A PutObject replaces an object whole,
 * so a reader sees the old or the new blob, never a part. Keys are validated exactly as the
 * file store validates them, and the prefix is fixed at construction, so no key reaches an
 * object outside `<prefix>/`.
 *
 * Failures of the storage become BlobStoreErrors with a code and a message that says what to
 * check: BUCKET_NOT_FOUND, STORE_ACCESS_DENIED (no or wrong credentials, a policy refusing the
 * operation), STORE_UNAVAILABLE (unreachable, timed out or failing after the SDK's retries).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
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
import { isValidS3Bucket, isValidS3Prefix } from './s3-names';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Where the blobs go inside the bucket, e.g. "atelier/prod" (no leading or trailing slash); default: the bucket's root. */
  prefix?: string;
  /** Base URL of an S3-compatible service (MinIO, R2, ...); addressed path-style. Default: AWS S3 of the region. */
  endpoint?: string;
  /** Default: the SDK's (AWS_REGION, the shared config file's profile). */
  region?: string;
  /** Default: the SDK's credential chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profiles, web identity, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Largest blob in bytes; default DEFAULT_MAX_BLOB_BYTES (256 MiB). Larger: BLOB_TOO_LARGE. */
  maxBlobBytes?: number;
  /** Keys listed (and deleted) per request by deleteAllUnder; default and most: 1000. */
  listPageSize?: number;
}

/** Error names of refused credentials or permissions (S3's codes, and the SDK's when it finds no credentials). */
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidToken',
  'SignatureDoesNotMatch',
]);

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly where: string;
  private readonly maxBlobBytes: number;
  private readonly listPageSize: number;

  /** Throws on an invalid bucket name, prefix or page size; touches nothing until the first call. */
  constructor(options: S3BlobStoreOptions) {
    if (!isValidS3Bucket(options.bucket)) throw new Error(`S3 bucket name ${JSON.stringify(options.bucket)} is not valid.`);
    if (options.prefix !== undefined && !isValidS3Prefix(options.prefix))
      throw new Error(`S3 key prefix ${JSON.stringify(options.prefix)} is not valid.`);
    this.listPageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > 1000)
      throw new RangeError('listPageSize must be 1 to 1000.');
    this.bucket = options.bucket;
    this.keyPrefix = options.prefix ? `${options.prefix}/` : '';
    this.where = `bucket ${JSON.stringify(options.bucket)}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
    this.maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      // Services other than AWS rarely have a DNS name per bucket.
      forcePathStyle: options.endpoint !== undefined,
      credentials: options.credentials,
      maxAttempts: 3,
      // Checksums only where S3 requires one (DeleteObjects, below): by default the SDK sends a
      // streamed body aws-chunked with a trailing checksum, which S3-compatible services (s3rver,
      // older MinIO) store as the object's bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      // Failures reach the caller as BlobStoreErrors; the SDK would also print some on the
      // console (a failed streamed PutObject, such as a client gone mid-upload).
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      requestHandler: {
        connectionTimeout: 5_000,
        // Until the answer's headers, an upload of the largest blob included; a connection on
        // which nothing moves for socketTimeout fails sooner (a body being streamed too).
        requestTimeout: 120_000,
        throwOnRequestTimeout: true,
        socketTimeout: 60_000,
        // Served downloads hold a connection while the client reads: more than the SDK's 50.
        httpAgent: { keepAlive: true, maxSockets: 256 },
        httpsAgent: { keepAlive: true, maxSockets: 256 },
      },
    });
    addContentMd5ToDeleteObjects(this.client);
  }

  /** Checks that the bucket exists and these credentials may list it (HeadBucket); throws a BlobStoreError saying what is wrong. */
  async checkBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      // HEAD answers carry no error code: a 404 is the bucket's.
      if (httpStatus(error) === 404) throw this.failure({ name: 'NoSuchBucket' }, 'HeadBucket');
      throw this.failure(error, 'HeadBucket');
    }
  }

  async put(key: string, data: Buffer, contentType: string): Promise<void> {
    const objectKey = this.objectKey(key);
    assertValidContentType(contentType);
    assertBlobData(data);
    assertBlobSize(key, data.length, this.maxBlobBytes);
    await this.send('PutObject', key, () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: data, ContentType: contentType, ContentLength: data.length }),
      ),
    );
  }

  /**
   * One PutObject whose body is `body` itself (with its Content-Length), counted on the way
   * (exactLength): no multipart upload, so nothing is left in the bucket when it fails; S3
   * stores an object only once all its declared bytes arrived. A body that fails or has the
   * wrong length aborts the request (the SDK never retries a streamed body).
   */
  async putStream(key: string, body: Readable, contentType: string, byteLength: number): Promise<void> {
    const objectKey = this.objectKey(key);
    assertValidContentType(contentType);
    assertBlobLength(key, byteLength, this.maxBlobBytes);
    const counted = exactLength(key, byteLength);
    const abort = new AbortController();
    let bodyError: unknown;
    const fed = pipeline(body, counted).catch((error: unknown) => {
      bodyError = error;
      abort.abort(error);
    });
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: objectKey,
      Body: counted,
      ContentType: contentType,
      ContentLength: byteLength,
    });
    try {
      await this.client.send(command, { abortSignal: abort.signal });
    } catch (error) {
      // The body's own failure (a length mismatch, a client gone), if it came first: it aborted the request.
      const cause = bodyError;
      counted.destroy();
      body.destroy();
      await fed;
      if (cause !== undefined) throw cause;
      throw this.failure(error, 'PutObject', key);
    }
    await fed;
    if (bodyError !== undefined) throw bodyError;
  }

  async get(key: string): Promise<StoredBlob | null> {
    const object = await this.getObject(key);
    if (object === null) return null;
    try {
      assertBlobSize(key, object.byteLength, this.maxBlobBytes);
    } catch (error) {
      object.body.destroy();
      throw error;
    }
    const data = await this.send('GetObject', key, () => readAll(object.body, object.byteLength));
    if (data.length !== object.byteLength) {
      throw new BlobStoreError(
        'STORE_UNAVAILABLE',
        `S3 sent ${data.length} bytes of ${JSON.stringify(key)} for ${object.byteLength} (${this.where}).`,
      );
    }
    return { data, contentType: object.contentType };
  }

  getStream(key: string): Promise<BlobReadStream | null> {
    return this.getObject(key);
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    await this.send('DeleteObject', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })));
  }

  async deleteAllUnder(prefix: string): Promise<void> {
    const listPrefix = `${this.objectKey(prefix)}/`;
    let continuationToken: string | undefined;
    do {
      const page = await this.send('ListObjectsV2', prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: listPrefix,
            MaxKeys: this.listPageSize,
            ContinuationToken: continuationToken,
          }),
        ),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [{ Key: object.Key }]));
      if (keys.length > 0) await this.deleteObjects(prefix, keys);
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && continuationToken === undefined) {
        throw new BlobStoreError(
          'STORE_UNAVAILABLE',
          `S3 listed part of ${JSON.stringify(prefix)} without saying where to go on (${this.where}).`,
        );
      }
    } while (continuationToken !== undefined);
  }

  /** A HEAD answer has no error code: a missing bucket reads as a missing blob here (checkBucket tells them apart). */
  async exists(key: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return true;
    } catch (error) {
      if (httpStatus(error) === 404) return false;
      throw this.failure(error, 'HeadObject', key);
    }
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  private async deleteObjects(prefix: string, keys: { Key: string }[]): Promise<void> {
    const result = await this.send('DeleteObjects', prefix, () =>
      this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } })),
    );
    const failed = result.Errors?.[0];
    if (failed) {
      const error = {
        name: failed.Code ?? 'UnknownError',
        message: `${failed.Message ?? ''} (${result.Errors?.length} objects not deleted)`,
      };
      throw this.failure(error, 'DeleteObjects', prefix);
    }
  }

  private async getObject(key: string): Promise<BlobReadStream | null> {
    const objectKey = this.objectKey(key);
    let output: GetObjectCommandOutput;
    try {
      output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (error) {
      if ((error as { name?: unknown }).name === 'NoSuchKey') return null;
      throw this.failure(error, 'GetObject', key);
    }
    const body = output.Body;
    if (!(body instanceof Readable))
      throw new BlobStoreError('STORE_UNAVAILABLE', `S3 answered GetObject of ${JSON.stringify(key)} without a body (${this.where}).`);
    const contentType = output.ContentType;
    const byteLength = output.ContentLength;
    try {
      assertValidContentType(contentType);
    } catch {
      body.destroy();
      throw new BlobStoreError(
        'CORRUPT_BLOB',
        `Blob ${JSON.stringify(key)} has no usable content type (the object was not written by Atelier?).`,
      );
    }
    if (byteLength === undefined) {
      body.destroy();
      throw new BlobStoreError('STORE_UNAVAILABLE', `S3 answered GetObject of ${JSON.stringify(key)} without a length (${this.where}).`);
    }
    return { body, contentType, byteLength };
  }

  /** Runs one request of the SDK, turning its failures into BlobStoreErrors. */
  private async send<T>(operation: string, key: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.failure(error, operation, key);
    }
  }

  private objectKey(key: string): string {
    assertValidBlobKey(key);
    return this.keyPrefix + key;
  }

  private failure(error: unknown, operation: string, key?: string): BlobStoreError {
    if (error instanceof BlobStoreError) return error;
    const name = String((error as { name?: unknown }).name ?? 'Error');
    const status = httpStatus(error);
    const code = (error as { code?: unknown }).code;
    const message =
      error instanceof Error || typeof (error as { message?: unknown }).message === 'string'
        ? String((error as { message: unknown }).message)
        : '';
    const what = `${operation}${key === undefined ? '' : ` of ${JSON.stringify(key)}`} on ${this.where}`;
    const detail =
      [name, status, typeof code === 'string' && code !== name ? code : undefined].filter(Boolean).join(' ') +
      (message ? `: ${message}` : '');
    if (name === 'NoSuchBucket') {
      return new BlobStoreError(
        'BUCKET_NOT_FOUND',
        `${what} failed: the bucket does not exist; create it or check the bucket name and endpoint.`,
        { cause: error },
      );
    }
    if (ACCESS_DENIED.has(name) || status === 403) {
      return new BlobStoreError(
        'STORE_ACCESS_DENIED',
        `${what} was refused (${detail}); check the credentials and what the bucket's policy allows them.`,
        { cause: error },
      );
    }
    return new BlobStoreError('STORE_UNAVAILABLE', `${what} failed (${detail}).`, { cause: error });
  }
}

/** The stream's bytes, stopping (and destroying it) as soon as it sends more than `expected`. */
async function readAll(body: Readable, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    length += bytes.length;
    chunks.push(bytes);
    if (length > expected) break; // leaving the loop destroys the stream
  }
  return Buffer.concat(chunks, length);
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/**
 * S3 requires Content-MD5 or a newer checksum on DeleteObjects. The SDK sends only the newer
 * CRC32 header, which older MinIO releases and other S3-compatible services refuse; the MD5 of
 * a short XML body costs nothing, so it is always sent too.
 */
function addContentMd5ToDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown } | undefined;
      if (
        context.commandName === 'DeleteObjectsCommand' &&
        request?.headers &&
        (typeof request.body === 'string' || request.body instanceof Uint8Array)
      ) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'atelierContentMd5ForDeleteObjects' },
  );
}
