// What an S3 bucket name and a key prefix may be: checked by the configuration and by the
// S3 store itself, without loading the SDK.

const MAX_PREFIX_LENGTH = 200;
// Slash-separated segments of [A-Za-z0-9._-], none starting with a dot (so no "." or ".."
// segment that an HTTP layer could fold), no leading, trailing or doubled slash.
const PREFIX = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
// S3's rules for new buckets: 3-63 lower-case letters, digits, dots and hyphens, a letter or
// digit at each end, no two dots in a row.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isValidS3Bucket(bucket: string): boolean {
  return BUCKET.test(bucket) && !bucket.includes('..');
}

export function isValidS3Prefix(prefix: string): boolean {
  return prefix.length <= MAX_PREFIX_LENGTH && PREFIX.test(prefix);
}
