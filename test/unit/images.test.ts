/**
 * Image intake against real sharp: every refusal kind, EXIF orientation, and
 * that the stored bytes really are what their content type says.
 */
import sharp from 'sharp';
import { crc32 } from 'node:zlib';
import {
  DEFAULT_MAX_IMAGE_BYTES,
  IMAGE_ERROR_CODES,
  decodeDataUrl,
  normalizeImage,
  sniffImageFormat,
  type ImageErrorCode,
  type NormalizeImageResult,
} from '../../src/images';

// Deterministic noise compresses badly, so cutting a file really removes pixel data.
function noise(width: number, height: number, channels: 3 | 4 = 3): { data: Buffer; raw: sharp.SharpOptions } {
  const data = Buffer.alloc(width * height * channels);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { data, raw: { raw: { width, height, channels } } };
}

function encode(format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif', width = 96, height = 80): Promise<Buffer> {
  const { data, raw } = noise(width, height);
  const image = sharp(data, raw);
  switch (format) {
    case 'avif':
      return image.avif({ effort: 0 }).toBuffer();
    default:
      return image.toFormat(format).toBuffer();
  }
}

function pngChunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const typeAndBody = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndBody));
  return Buffer.concat([length, typeAndBody, crc]);
}

/** A structurally valid PNG header declaring width×height, followed by almost no data. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00])),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function expectRefused(result: NormalizeImageResult, code: ImageErrorCode): void {
  if (result.ok) throw new Error(`expected ${code}, got an accepted ${result.image.contentType}`);
  expect(result.code).toBe(code);
  expect(result.message.length).toBeGreaterThan(10);
  // Messages are for API users: no library internals.
  expect(result.message).not.toMatch(/vips|libpng|sharp|Error:/i);
}

async function expectAccepted(bytes: Buffer) {
  const result = await normalizeImage(bytes);
  if (!result.ok) throw new Error(`expected acceptance, got ${result.code}: ${result.message}`);
  return result.image;
}

describe('normalizeImage accepts PNG, JPEG and WebP', () => {
  it.each([
    ['png', 'image/png'],
    ['jpeg', 'image/jpeg'],
    ['webp', 'image/webp'],
  ] as const)('stores %s as %s with its dimensions, and the bytes match the type', async (format, contentType) => {
    const image = await expectAccepted(await encode(format, 96, 80));
    expect(image).toMatchObject({ width: 96, height: 80, contentType });
    const stored = await sharp(image.data).metadata();
    expect(stored.format).toBe(format);
    expect([stored.width, stored.height]).toEqual([96, 80]);
    expect(sniffImageFormat(image.data)).toEqual({ kind: 'accepted', format });
  });

  it('keeps PNG lossless, alpha included', async () => {
    const { data, raw } = noise(70, 65, 4);
    const image = await expectAccepted(await sharp(data, raw).png().toBuffer());
    const decoded = await sharp(image.data).raw().toBuffer();
    expect(decoded.equals(data)).toBe(true);
  });

  it('accepts exactly 64 pixels on the shortest side', async () => {
    const image = await expectAccepted(await encode('png', 64, 300));
    expect([image.width, image.height]).toEqual([64, 300]);
  });

  it('applies EXIF orientation 6: sides swap and the pixels turn a quarter clockwise', async () => {
    // Stored 120×80: left half red, right half blue. Orientation 6 shows it turned
    // 90° clockwise, so upright it is 80×120 with red on top.
    const width = 120;
    const height = 80;
    const pixels = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        pixels.set(x < width / 2 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
      }
    }
    const rotated = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(rotated).metadata()).orientation).toBe(6);

    const image = await expectAccepted(rotated);
    expect(image).toMatchObject({ width: 80, height: 120, contentType: 'image/jpeg' });
    const stored = await sharp(image.data).metadata();
    expect([stored.width, stored.height]).toEqual([80, 120]);
    expect(stored.orientation ?? 1).toBe(1);
    const upright = await sharp(image.data).removeAlpha().raw().toBuffer();
    const at = (x: number, y: number) => [...upright.subarray((y * 80 + x) * 3, (y * 80 + x) * 3 + 3)];
    const [topR, , topB] = at(40, 20);
    const [bottomR, , bottomB] = at(40, 100);
    expect(topR).toBeGreaterThan(200);
    expect(topB).toBeLessThan(60);
    expect(bottomB).toBeGreaterThan(200);
    expect(bottomR).toBeLessThan(60);
  });

  it('strips EXIF metadata from the stored copy', async () => {
    const withExif = await sharp(noise(80, 80).data, noise(80, 80).raw)
      .jpeg()
      .withExif({ IFD0: { Make: 'SecretCam', ImageDescription: 'home address' } })
      .toBuffer();
    expect(withExif.includes('SecretCam')).toBe(true);
    const image = await expectAccepted(withExif);
    expect(image.data.includes('SecretCam')).toBe(false);
    expect((await sharp(image.data).metadata()).exif).toBeUndefined();
  });
});

describe('normalizeImage refuses', () => {
  it.each([
    ['empty input', Buffer.alloc(0)],
    ['plain text', Buffer.from('hello, this is definitely not an image\n')],
    ['random bytes', noise(64, 64).data],
    ['JSON', Buffer.from('{"image":"data:image/png;base64,AAAA"}')],
    ['a PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj << /Type /Catalog >> endobj\n')],
    ['an MP4 video header', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom\0\0\x02\0isomiso2', 'latin1')])],
  ])('%s as NOT_AN_IMAGE', async (_, bytes) => {
    expectRefused(await normalizeImage(bytes), 'NOT_AN_IMAGE');
  });

  it('a non-Buffer as NOT_AN_IMAGE', async () => {
    expectRefused(await normalizeImage('not a buffer' as unknown as Buffer), 'NOT_AN_IMAGE');
  });

  describe('other formats as UNSUPPORTED_IMAGE_FORMAT', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="red"/></svg>';
    const fixtures: Array<[string, () => Promise<Buffer> | Buffer, string]> = [
      ['GIF', () => encode('gif'), 'GIF'],
      ['TIFF', () => encode('tiff'), 'TIFF'],
      ['AVIF', () => encode('avif'), 'AVIF'],
      ['SVG', () => Buffer.from(svg), 'SVG'],
      ['SVG with an XML prolog, BOM and comment', () => Buffer.from(`\uFEFF<?xml version="1.0"?>\n<!-- logo -->\n${svg}`), 'SVG'],
      // A hand-made HEIC header: the prebuilt sharp has no HEVC decoder, so intake must not need one.
      [
        'HEIC (ftyp header)',
        () => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(64)]),
        'HEIC',
      ],
      ['BMP', () => bmp(80, 80), 'BMP'],
      ['PSD', () => Buffer.concat([Buffer.from('8BPS\0\x01', 'latin1'), Buffer.alloc(64)]), 'PSD'],
      [
        'JPEG 2000',
        () => Buffer.concat([Buffer.from([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]), Buffer.alloc(64)]),
        'JPEG 2000',
      ],
      // Past the sniffer's 4 KiB window: caught by asking sharp whether it can read the bytes.
      ['SVG after a 5 KB comment', () => Buffer.from(`<!--${'x'.repeat(5000)}-->${svg}`), 'SVG'],
    ];
    it.each(fixtures)('%s', async (_, make, name) => {
      const result = await normalizeImage(await make());
      expectRefused(result, 'UNSUPPORTED_IMAGE_FORMAT');
      expect(!result.ok && result.message).toContain(name);
      expect(!result.ok && result.message).toContain('PNG, JPEG or WebP');
    });

    it('even when declared as image/png in a data URL', async () => {
      const gif = await encode('gif');
      const decoded = decodeDataUrl(`data:image/png;base64,${gif.toString('base64')}`);
      if (!decoded.ok) throw new Error(decoded.message);
      expect(decoded.declaredType).toBe('image/png');
      expectRefused(await normalizeImage(decoded.bytes), 'UNSUPPORTED_IMAGE_FORMAT');
    });
  });

  describe('cut-off files as IMAGE_TRUNCATED', () => {
    it.each([
      ['png', 0.6],
      ['png', 0.97],
      ['jpeg', 0.6],
      ['jpeg', 0.97],
      ['webp', 0.6],
      ['webp', 0.97],
    ] as const)('%s cut to %d of its length', async (format, fraction) => {
      const full = await encode(format, 256, 256);
      await expect(normalizeImage(full)).resolves.toMatchObject({ ok: true });
      const cut = full.subarray(0, Math.floor(full.length * fraction));
      const result = await normalizeImage(cut);
      expectRefused(result, 'IMAGE_TRUNCATED');
      // Proof that the refusal is needed: a lenient decoder would have accepted these bytes.
      if (format !== 'webp') {
        await expect(sharp(cut, { failOn: 'none' }).png().toBuffer()).resolves.toBeInstanceOf(Buffer);
      }
    });

    it('a signature with nothing after it', async () => {
      expectRefused(await normalizeImage((await encode('png')).subarray(0, 12)), 'IMAGE_TRUNCATED');
      expectRefused(await normalizeImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'IMAGE_TRUNCATED');
    });
  });

  describe('too many pixels from the header alone', () => {
    it('a PNG header claiming 10000×10000 with almost no data', async () => {
      const bomb = pngClaiming(10_000, 10_000);
      expect(bomb.length).toBeLessThan(100);
      const started = process.hrtime.bigint();
      const result = await normalizeImage(bomb);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      // Decoding would fail as IMAGE_TRUNCATED (the pixel data is missing, see the
      // next test), so this code and the speed show the header alone decided.
      expectRefused(result, 'IMAGE_TOO_MANY_PIXELS');
      expect(!result.ok && result.message).toContain('10000×10000');
      expect(elapsedMs).toBeLessThan(1000);
    });

    it('the same small file with a sane header decodes as truncated, not too many pixels', async () => {
      expectRefused(await normalizeImage(pngClaiming(500, 500)), 'IMAGE_TRUNCATED');
    });

    it('a JPEG whose frame header is patched to 60000×60000', async () => {
      const jpeg = Buffer.from(await encode('jpeg', 96, 80));
      const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
      expect(sof).toBeGreaterThan(0);
      jpeg.writeUInt16BE(60_000, sof + 5);
      jpeg.writeUInt16BE(60_000, sof + 7);
      expectRefused(await normalizeImage(jpeg), 'IMAGE_TOO_MANY_PIXELS');
    });

    it('honours a custom pixel limit, inclusive', async () => {
      const png = await encode('png', 100, 100);
      expectRefused(await normalizeImage(png, { maxPixels: 9_999 }), 'IMAGE_TOO_MANY_PIXELS');
      await expect(normalizeImage(png, { maxPixels: 10_000 })).resolves.toMatchObject({ ok: true });
    });
  });

  describe('small images as IMAGE_TOO_SMALL', () => {
    it('63 pixels wide', async () => {
      const result = await normalizeImage(await encode('png', 63, 200));
      expectRefused(result, 'IMAGE_TOO_SMALL');
      expect(!result.ok && result.message).toContain('63×200');
    });

    it('63 pixels high after EXIF orientation', async () => {
      const jpeg = await sharp(noise(200, 63).data, noise(200, 63).raw).jpeg().withMetadata({ orientation: 6 }).toBuffer();
      const result = await normalizeImage(jpeg);
      expectRefused(result, 'IMAGE_TOO_SMALL');
      expect(!result.ok && result.message).toContain('63×200');
    });

    it('honours a custom minimum side', async () => {
      expectRefused(await normalizeImage(await encode('webp', 100, 100), { minSide: 101 }), 'IMAGE_TOO_SMALL');
    });
  });

  describe('IMAGE_TOO_LARGE, checked before anything else', () => {
    it('10 MiB + 1 byte of zeros (not even an image) is too large', async () => {
      const result = await normalizeImage(Buffer.alloc(DEFAULT_MAX_IMAGE_BYTES + 1));
      expectRefused(result, 'IMAGE_TOO_LARGE');
      expect(!result.ok && result.message).toContain('10 MiB');
    });

    it('exactly 10 MiB is not refused for its size', async () => {
      expectRefused(await normalizeImage(Buffer.alloc(DEFAULT_MAX_IMAGE_BYTES)), 'NOT_AN_IMAGE');
    });

    it('a valid PNG over a custom byte limit', async () => {
      const png = await encode('png');
      expectRefused(await normalizeImage(png, { maxBytes: png.length - 1 }), 'IMAGE_TOO_LARGE');
      await expect(normalizeImage(png, { maxBytes: png.length })).resolves.toMatchObject({ ok: true });
    });
  });
});

describe('decodeDataUrl', () => {
  it('decodes a base64 data URL and reports the declared type', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253]);
    const result = decodeDataUrl(`data:image/PNG;base64,${bytes.toString('base64')}`);
    expect(result).toEqual({ ok: true, bytes, declaredType: 'image/png' });
  });

  it('accepts MIME parameters before ;base64', () => {
    const result = decodeDataUrl('data:image/jpeg;name=photo.jpg;base64,AAECAw==');
    expect(result).toMatchObject({ ok: true, bytes: Buffer.from([0, 1, 2, 3]) });
  });

  it.each([
    ['empty string', ''],
    ['no data: scheme', 'image/png;base64,AAAA'],
    ['not base64-encoded', 'data:image/png,hello'],
    ['missing MIME type', 'data:;base64,AAAA'],
    ['no comma', 'data:image/png;base64'],
    ['empty payload', 'data:image/png;base64,'],
    ['bad length', 'data:image/png;base64,AAAAA'],
    ['characters outside base64', 'data:image/png;base64,AA*A'],
    ['whitespace inside', 'data:image/png;base64,AA AA'],
    ['a newline inside', 'data:image/png;base64,AAAA\nAAAA'],
    ['URL-safe alphabet', 'data:image/png;base64,AA-_'],
    ['padding in the middle', 'data:image/png;base64,AA==AAAA'],
    ['too much padding', 'data:image/png;base64,A==='],
    ['a http URL', 'https://example.com/a.png'],
    ['leading space', ' data:image/png;base64,AAAA'],
    ['a header too long to be real', `data:image/png;${'x=y;'.repeat(100)}base64,AAAA`],
  ])('refuses %s as INVALID_DATA_URL', (_, input) => {
    const result = decodeDataUrl(input);
    expect(result).toMatchObject({ ok: false, code: 'INVALID_DATA_URL' });
    expect(!result.ok && result.message.length).toBeGreaterThan(10);
  });

  it('refuses a non-string as INVALID_DATA_URL', () => {
    expect(decodeDataUrl(42 as unknown as string)).toMatchObject({ ok: false, code: 'INVALID_DATA_URL' });
  });

  it('refuses an oversized payload as IMAGE_TOO_LARGE from its length', () => {
    const payload = 'A'.repeat(Math.ceil((DEFAULT_MAX_IMAGE_BYTES + 3) / 3) * 4);
    expect(decodeDataUrl(`data:image/png;base64,${payload}`)).toMatchObject({ ok: false, code: 'IMAGE_TOO_LARGE' });
    expect(decodeDataUrl('data:image/png;base64,AAAAAAAA', { maxBytes: 5 })).toMatchObject({ ok: false, code: 'IMAGE_TOO_LARGE' });
    expect(decodeDataUrl('data:image/png;base64,AAAAAAAA', { maxBytes: 6 })).toMatchObject({ ok: true });
  });

  it('round-trips with normalizeImage, ignoring a false declared type', async () => {
    const jpeg = await encode('jpeg');
    const decoded = decodeDataUrl(`data:image/webp;base64,${jpeg.toString('base64')}`);
    if (!decoded.ok) throw new Error(decoded.message);
    const result = await normalizeImage(decoded.bytes);
    expect(result).toMatchObject({ ok: true, image: { contentType: 'image/jpeg' } });
  });
});

describe('ImageErrorCode', () => {
  it('lists every code once', () => {
    expect(new Set(IMAGE_ERROR_CODES).size).toBe(IMAGE_ERROR_CODES.length);
    expect([...IMAGE_ERROR_CODES].sort()).toEqual([
      'IMAGE_TOO_LARGE',
      'IMAGE_TOO_MANY_PIXELS',
      'IMAGE_TOO_SMALL',
      'IMAGE_TRUNCATED',
      'INVALID_DATA_URL',
      'NOT_AN_IMAGE',
      'UNSUPPORTED_IMAGE_FORMAT',
    ]);
  });
});

/** A minimal 24-bit BMP (sharp's prebuilt binary cannot read BMP: the sniffer must know it). */
function bmp(width: number, height: number): Buffer {
  const rowSize = Math.ceil((width * 3) / 4) * 4;
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + rowSize * height, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  return Buffer.concat([header, Buffer.alloc(rowSize * height, 0x80)]);
}
