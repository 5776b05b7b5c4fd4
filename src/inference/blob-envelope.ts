/**
 * The binary envelope shared by the engine's persisted blobs (reference caches, person
 * encodings): magic, format version, a JSON header, then an 8-byte-aligned binary payload
 * whose sha256 sits in the header, so truncation or bit rot is detected before any tensor is used.
 *
 *   0  magic (4 ASCII bytes)   4  u16 format version   6  u16 reserved (0)   8  u32 header length n
 *  12  header JSON (n bytes, space padded so the payload starts on a multiple of 8)   payload
 */
import { createHash } from 'node:crypto';
import { InferenceError } from './errors';

const PREFIX_BYTES = 12;

export interface EnvelopeContents {
  header: Record<string, unknown>;
  payload: Buffer;
}

export function writeEnvelope(
  magic: string,
  version: number,
  header: Record<string, unknown>,
  payloadParts: readonly Uint8Array[],
): Buffer {
  const payloadBytes = payloadParts.reduce((sum, part) => sum + part.byteLength, 0);
  const hash = createHash('sha256');
  for (const part of payloadParts) hash.update(part);
  const fullHeader = { ...header, payloadBytes, payloadSha256: hash.digest('hex') };
  let headerText = JSON.stringify(fullHeader);
  const padding = (8 - ((PREFIX_BYTES + Buffer.byteLength(headerText)) % 8)) % 8;
  headerText += ' '.repeat(padding);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const blob = Buffer.alloc(PREFIX_BYTES + headerBytes.length + payloadBytes);
  blob.write(magic, 0, 4, 'ascii');
  blob.writeUInt16LE(version, 4);
  blob.writeUInt16LE(0, 6);
  blob.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(blob, PREFIX_BYTES);
  let offset = PREFIX_BYTES + headerBytes.length;
  for (const part of payloadParts) {
    blob.set(part, offset);
    offset += part.byteLength;
  }
  return blob;
}

/** Parses and verifies an envelope; any defect is an INVALID_CACHE error saying what is wrong. */
export function readEnvelope(blob: Uint8Array, magic: string, version: number, what: string): EnvelopeContents {
  const buffer = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buffer.length < PREFIX_BYTES || buffer.toString('ascii', 0, 4) !== magic) {
    throw new InferenceError('INVALID_CACHE', `${what}: not a ${what} blob (bad magic)`);
  }
  const blobVersion = buffer.readUInt16LE(4);
  if (blobVersion !== version)
    throw new InferenceError('INVALID_CACHE', `${what}: format version ${blobVersion}, this engine reads ${version}`);
  const headerLength = buffer.readUInt32LE(8);
  if (PREFIX_BYTES + headerLength > buffer.length) throw new InferenceError('INVALID_CACHE', `${what}: truncated header`);
  let header: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(buffer.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerLength));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('header is not an object');
    header = parsed as Record<string, unknown>;
  } catch (cause) {
    throw new InferenceError('INVALID_CACHE', `${what}: corrupted header`, { cause });
  }
  const payload = buffer.subarray(PREFIX_BYTES + headerLength);
  if (header['payloadBytes'] !== payload.length) {
    throw new InferenceError(
      'INVALID_CACHE',
      `${what}: payload is ${payload.length} bytes, header says ${String(header['payloadBytes'])} (truncated or padded)`,
    );
  }
  const actual = createHash('sha256').update(payload).digest('hex');
  if (header['payloadSha256'] !== actual) throw new InferenceError('INVALID_CACHE', `${what}: payload checksum mismatch (corrupted data)`);
  return { header, payload };
}

/** A typed view of `bytes` when aligned, otherwise an aligned copy (views need element alignment). */
export function alignedView<T extends Uint16Array | Float32Array>(
  bytes: Uint8Array,
  ArrayType: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const size = ArrayType.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0)
    throw new InferenceError('INVALID_CACHE', `payload section of ${bytes.byteLength} bytes is not a whole number of elements`);
  const source = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes); // a copy (Buffer#slice would be a view)
  return new ArrayType(source.buffer, source.byteOffset, source.byteLength / size);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
