/**
 * Recognises image formats from their leading bytes. Intake decides what to do
 * from these bytes alone, never from a declared MIME type or file name.
 */

/** The formats image intake accepts. */
export type AcceptedImageFormat = 'png' | 'jpeg' | 'webp';

export type SniffedFormat =
  | { kind: 'accepted'; format: AcceptedImageFormat }
  /** A recognised image format we refuse; `name` is for messages ("GIF", "SVG"...). */
  | { kind: 'unsupported'; name: string }
  | { kind: 'unknown' };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JP2_SIGNATURE = Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
const JXL_CONTAINER = Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
// ISO-BMFF brands of still-image formats (HEIF/HEIC, AVIF, Canon CR3).
const HEIF_BRANDS: ReadonlyMap<string, string> = new Map([
  ['heic', 'HEIC'],
  ['heix', 'HEIC'],
  ['heim', 'HEIC'],
  ['heis', 'HEIC'],
  ['hevc', 'HEIC'],
  ['hevx', 'HEIC'],
  ['hevm', 'HEIC'],
  ['hevs', 'HEIC'],
  ['mif1', 'HEIF'],
  ['msf1', 'HEIF'],
  ['avif', 'AVIF'],
  ['avis', 'AVIF'],
  ['crx ', 'CR3'],
]);
const BMP_DIB_HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

function startsWith(bytes: Buffer, prefix: Buffer | string, offset = 0): boolean {
  const expected = typeof prefix === 'string' ? Buffer.from(prefix, 'latin1') : prefix;
  return bytes.length >= offset + expected.length && bytes.subarray(offset, offset + expected.length).equals(expected);
}

export function sniffImageFormat(bytes: Buffer): SniffedFormat {
  if (startsWith(bytes, PNG_SIGNATURE)) return { kind: 'accepted', format: 'png' };
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return { kind: 'accepted', format: 'jpeg' };
  }
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return { kind: 'accepted', format: 'webp' };

  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return unsupported('GIF');
  if (startsWith(bytes, 'II*\0') || startsWith(bytes, 'MM\0*') || startsWith(bytes, 'II+\0') || startsWith(bytes, 'MM\0+')) {
    return unsupported('TIFF');
  }
  if (startsWith(bytes, 'ftyp', 4)) {
    const brands = [bytes.subarray(8, 12)];
    // Compatible brands follow the major brand and minor version, up to the box end.
    const boxEnd = Math.min(bytes.readUInt32BE(0), bytes.length, 256);
    for (let at = 16; at + 4 <= boxEnd; at += 4) brands.push(bytes.subarray(at, at + 4));
    for (const brand of brands) {
      const name = HEIF_BRANDS.get(brand.toString('latin1'));
      if (name) return unsupported(name);
    }
  }
  if (startsWith(bytes, JP2_SIGNATURE) || startsWith(bytes, Buffer.from([0xff, 0x4f, 0xff, 0x51]))) {
    return unsupported('JPEG 2000');
  }
  if (startsWith(bytes, JXL_CONTAINER) || startsWith(bytes, Buffer.from([0xff, 0x0a]))) return unsupported('JPEG XL');
  if (startsWith(bytes, 'BM') && bytes.length >= 18 && BMP_DIB_HEADER_SIZES.has(bytes.readUInt32LE(14))) {
    return unsupported('BMP');
  }
  if (startsWith(bytes, '8BPS')) return unsupported('PSD');
  if (
    (startsWith(bytes, Buffer.from([0, 0, 1, 0])) || startsWith(bytes, Buffer.from([0, 0, 2, 0]))) &&
    bytes.length >= 22 &&
    bytes.readUInt16LE(4) > 0
  ) {
    return unsupported('ICO');
  }
  if (looksLikeSvg(bytes)) return unsupported('SVG');
  return { kind: 'unknown' };
}

function unsupported(name: string): SniffedFormat {
  return { kind: 'unsupported', name };
}

// SVG is XML text: a markup start and an <svg element near the beginning.
function looksLikeSvg(bytes: Buffer): boolean {
  const head = bytes
    .subarray(0, 4096)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return head.startsWith('<') && /<svg[\s>/]/i.test(head);
}
