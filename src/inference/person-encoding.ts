/**
 * PersonEncoding: what the engine derives once per person photo and reuses for every render of
 * it: the photo resized to the model's person size, its VAE latent, and the parsed body-part
 * labels (from which each outfit's mask is made). Stamped with the model id and the photo's
 * sha256 so it cannot be paired with another model or another photo.
 */
import { alignedView, readEnvelope, writeEnvelope } from './blob-envelope';
import { InferenceError } from './errors';

export const PERSON_ENCODING_MAGIC = 'ATPE';
export const PERSON_ENCODING_FORMAT = 1;

export interface PersonEncoding {
  modelId: string;
  /** The original photo (after EXIF orientation): its size and the sha256 of its bytes. */
  photo: { width: number; height: number; sha256: string };
  /** Model person size. */
  width: number;
  height: number;
  /** RGB, row-major, width*height*3 bytes: the photo resized to the model's person size. */
  pixels: Uint8Array;
  /** Argmax body-part label per pixel (width*height), or null when the package has no parser. */
  labels: Uint8Array | null;
  /** vae_encoder latent of the unmasked person, [C,h,w]. */
  latent: Float32Array;
  latentShape: readonly [number, number, number];
}

export function serializePersonEncoding(encoding: PersonEncoding): Buffer {
  const latentBytes = new Uint8Array(encoding.latent.buffer, encoding.latent.byteOffset, encoding.latent.byteLength);
  const parts: Uint8Array[] = [latentBytes, encoding.pixels];
  if (encoding.labels) parts.push(encoding.labels);
  const header = {
    modelId: encoding.modelId,
    photo: encoding.photo,
    width: encoding.width,
    height: encoding.height,
    latentShape: encoding.latentShape,
    hasLabels: encoding.labels !== null,
  };
  return writeEnvelope(PERSON_ENCODING_MAGIC, PERSON_ENCODING_FORMAT, header, parts);
}

export function deserializePersonEncoding(blob: Uint8Array, modelId: string): PersonEncoding {
  const { header, payload } = readEnvelope(blob, PERSON_ENCODING_MAGIC, PERSON_ENCODING_FORMAT, 'person encoding');
  if (header['modelId'] !== modelId) {
    throw new InferenceError(
      'INVALID_CACHE',
      `person encoding was computed by model ${String(header['modelId'])}, this engine runs ${modelId}; re-encode the photo`,
    );
  }
  const photo = header['photo'] as PersonEncoding['photo'] | undefined;
  const width = header['width'];
  const height = header['height'];
  const latentShape = header['latentShape'];
  if (
    typeof photo?.sha256 !== 'string' ||
    typeof width !== 'number' ||
    typeof height !== 'number' ||
    !Array.isArray(latentShape) ||
    latentShape.length !== 3 ||
    !latentShape.every((n) => typeof n === 'number')
  ) {
    throw new InferenceError('INVALID_CACHE', 'person encoding header is incomplete');
  }
  const [c, h, w] = latentShape as [number, number, number];
  const latentBytes = c * h * w * 4;
  const pixelBytes = width * height * 3;
  const labelBytes = header['hasLabels'] === true ? width * height : 0;
  if (payload.length !== latentBytes + pixelBytes + labelBytes)
    throw new InferenceError('INVALID_CACHE', 'person encoding payload has the wrong size');
  return {
    modelId,
    photo,
    width,
    height,
    latent: alignedView(payload.subarray(0, latentBytes), Float32Array),
    latentShape: [c, h, w],
    pixels: payload.subarray(latentBytes, latentBytes + pixelBytes),
    labels: labelBytes > 0 ? payload.subarray(latentBytes + pixelBytes) : null,
  };
}
