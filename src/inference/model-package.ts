/**
 * Reads and verifies a model package folder (docs/model-package.md): parses manifest.json,
 * checks the sha256 of every listed file, and makes sure the graphs the engine needs exist.
 * Problems surface as one InferenceError naming the offending file(s).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InferenceError } from './errors';

export const GARMENT_CATEGORIES = ['TOP', 'BOTTOM', 'DRESS', 'SHOES', 'BAG'] as const;
export type GarmentCategory = (typeof GARMENT_CATEGORIES)[number];

const positiveInt = z.number().int().positive();
const size2d = z.object({ width: positiveInt, height: positiveInt });

const schedulerSchema = z.object({
  type: z.enum(['ddim', 'ddpm']),
  trainTimesteps: positiveInt,
  betaSchedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']),
  betaStart: z.number().positive(),
  betaEnd: z.number().positive(),
  predictionType: z.enum(['epsilon', 'v_prediction', 'sample']),
  defaultSteps: positiveInt,
  guidanceScale: z.number(),
  // Optional diffusers knobs; the defaults are diffusers' DDIMScheduler defaults.
  timestepSpacing: z.enum(['leading', 'trailing', 'linspace']).optional(),
  stepsOffset: z.number().int().nonnegative().optional(),
  setAlphaToOne: z.boolean().optional(),
  eta: z.number().min(0).optional(),
  clipSample: z.boolean().optional(),
  clipSampleRange: z.number().positive().optional(),
});

const kvLayerSchema = z.object({ name: z.string(), heads: positiveInt, tokens: positiveInt, dim: positiveInt });

const manifestSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  format: z.literal(1),
  person: size2d,
  reference: size2d,
  latent: z.object({ channels: positiveInt, height: positiveInt, width: positiveInt, downscale: positiveInt }),
  referenceLatent: z.object({ channels: positiveInt, height: positiveInt, width: positiveInt }),
  categories: z.array(z.enum(GARMENT_CATEGORIES)).min(1),
  maxGarments: positiveInt.optional(),
  scheduler: schedulerSchema,
  kv: z.object({ dtype: z.literal('float16'), layers: z.array(kvLayerSchema).min(1) }),
  parser: z
    .object({
      labels: z.array(z.string()).min(1),
      categoryMask: z.record(z.string(), z.object({ labels: z.array(z.string()), dilate: z.number().int().nonnegative() })),
    })
    .optional(),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/i)),
});

export type ModelManifest = z.infer<typeof manifestSchema>;
export type SchedulerConfig = ModelManifest['scheduler'];
export type KvLayerLayout = z.infer<typeof kvLayerSchema>;
export type ParserSpec = NonNullable<ModelManifest['parser']>;

export const REQUIRED_GRAPHS = ['vae_encoder.onnx', 'vae_decoder.onnx', 'reference_encoder.onnx', 'denoiser.onnx'] as const;
export const PARSER_GRAPH = 'parser.onnx';

export interface ModelPackage {
  dir: string;
  manifest: ModelManifest;
  /** "name@version", stamped into every cache so a cache of another model is rejected. */
  id: string;
  hasParser: boolean;
}

/** Reads manifest.json, verifies every file's sha256, and checks the required graphs are listed. */
export async function readModelPackage(modelDir: string): Promise<ModelPackage> {
  const dir = path.resolve(modelDir);
  const manifestPath = path.join(dir, 'manifest.json');
  let manifestText: string;
  try {
    manifestText = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new InferenceError('MODEL_FILE_MISSING', `model package ${dir}: manifest.json is missing or unreadable`, {
      files: ['manifest.json'],
      cause,
    });
  }
  let manifest: ModelManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(manifestText));
  } catch (cause) {
    const detail = cause instanceof z.ZodError ? z.prettifyError(cause) : String(cause);
    throw new InferenceError('INVALID_MANIFEST', `model package ${dir}: manifest.json is invalid: ${detail}`, {
      files: ['manifest.json'],
      cause,
    });
  }
  await verifyPackageFiles(dir, manifest);
  return { dir, manifest, id: `${manifest.name}@${manifest.version}`, hasParser: PARSER_GRAPH in manifest.files };
}

async function verifyPackageFiles(dir: string, manifest: ModelManifest): Promise<void> {
  const missing: string[] = REQUIRED_GRAPHS.filter((graph) => !(graph in manifest.files));
  const mismatched: string[] = [];
  for (const [relative, expected] of Object.entries(manifest.files)) {
    const absolute = path.resolve(dir, relative);
    if (!absolute.startsWith(dir + path.sep)) {
      throw new InferenceError('INVALID_MANIFEST', `model package ${dir}: manifest.files names ${relative}, outside the package`, {
        files: [relative],
      });
    }
    const isFile = await stat(absolute).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) {
      missing.push(relative);
      continue;
    }
    const actual = await sha256File(absolute);
    if (actual !== expected.toLowerCase()) mismatched.push(`${relative} (expected sha256 ${expected.toLowerCase()}, found ${actual})`);
  }
  if (missing.length > 0) {
    throw new InferenceError('MODEL_FILE_MISSING', `model package ${dir}: missing file${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, {
      files: missing,
    });
  }
  if (mismatched.length > 0) {
    throw new InferenceError(
      'MODEL_CHECKSUM_MISMATCH',
      `model package ${dir}: checksum mismatch for ${mismatched.join('; ')}; the file is corrupted or from another build`,
      { files: mismatched.map((entry) => entry.slice(0, entry.indexOf(' ('))) },
    );
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The class id the reference encoder expects for a category, or an UNKNOWN_CATEGORY error. */
export function categoryIndex(manifest: ModelManifest, category: string): number {
  const index = (manifest.categories as readonly string[]).indexOf(category);
  if (index < 0) {
    throw new InferenceError(
      'UNKNOWN_CATEGORY',
      `unknown garment category ${JSON.stringify(category)}; model ${manifest.name}@${manifest.version} knows ${manifest.categories.join(', ')}`,
    );
  }
  return index;
}

export function isGarmentCategory(value: unknown): value is GarmentCategory {
  return typeof value === 'string' && (GARMENT_CATEGORIES as readonly string[]).includes(value);
}
