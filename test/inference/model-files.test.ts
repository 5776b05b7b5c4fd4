/** A damaged or incomplete package fails createEngine with one error naming the file. */
import { cpSync, mkdtempSync, rmSync, unlinkSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEngine } from '../../src/inference';
import { MODEL_DIR } from './package-fixture';

describe('model package verification', () => {
  let copy: string;

  beforeEach(() => {
    copy = mkdtempSync(path.join(tmpdir(), 'atelier-model-'));
    cpSync(MODEL_DIR, copy, { recursive: true });
  });

  afterEach(() => {
    rmSync(copy, { recursive: true, force: true });
  });

  it('names a corrupted graph (checksum mismatch)', async () => {
    const file = path.join(copy, 'denoiser.onnx');
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] = bytes[Math.floor(bytes.length / 2)]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(createEngine({ modelDir: copy })).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM_MISMATCH',
      files: ['denoiser.onnx'],
      message: expect.stringMatching(/denoiser\.onnx/),
    });
  });

  it('names a missing graph', async () => {
    unlinkSync(path.join(copy, 'vae_decoder.onnx'));
    await expect(createEngine({ modelDir: copy })).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      files: ['vae_decoder.onnx'],
      message: expect.stringMatching(/vae_decoder\.onnx/),
    });
  });

  it('names a missing manifest', async () => {
    unlinkSync(path.join(copy, 'manifest.json'));
    await expect(createEngine({ modelDir: copy })).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      message: expect.stringMatching(/manifest\.json/),
    });
  });
});
