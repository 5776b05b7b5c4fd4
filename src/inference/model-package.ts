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
import { externalDataLocations } from './onnx-external-data';

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
const kvLayerV2Schema = z.object({ name: z.string(), heads: positiveInt, dim: positiveInt });

/** Fields both formats share. */
const commonFields = {
  name: z.string().min(1),
  version: z.string().min(1),
  person: size2d,
  latent: z.object({ channels: positiveInt, height: positiveInt, width: positiveInt, downscale: positiveInt }),
  categories: z.array(z.enum(GARMENT_CATEGORIES)).min(1),
  maxGarments: positiveInt.optional(),
  scheduler: schedulerSchema,
  parser: z
    .object({
      labels: z.array(z.string()).min(1),
      categoryMask: z.record(z.string(), z.object({ labels: z.array(z.string()), dilate: z.number().int().nonnegative() })),
    })
    .optional(),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/i)),
};

/** Format 1: one reference size for every category; the graphs take float32 K/V, one copy per batch row. */
const manifestV1Schema = z.object({
  ...commonFields,
  format: z.literal(1),
  reference: size2d,
  referenceLatent: z.object({ channels: positiveInt, height: positiveInt, width: positiveInt }),
  kv: z.object({ dtype: z.literal('float16'), layers: z.array(kvLayerSchema).min(1) }),
});

/**
 * Format 2: a reference size (and so K/V token counts) per category; the reference encoder
 * returns float16 K/V and the denoiser takes float16 K/V banks with per-row token indices.
 */
const manifestV2Schema = z.object({
  ...commonFields,
  format: z.literal(2),
  references: z.record(z.string(), z.object({ width: positiveInt, height: positiveInt, tokens: z.array(positiveInt).min(1) })),
  kv: z.object({ dtype: z.literal('float16'), layers: z.array(kvLayerV2Schema).min(1) }),
});

const manifestSchema = z.discriminatedUnion('format', [manifestV1Schema, manifestV2Schema]);

/** Package formats this engine reads. */
export const PACKAGE_FORMATS = [1, 2] as const;

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ModelManifestV1 = z.infer<typeof manifestV1Schema>;
export type ModelManifestV2 = z.infer<typeof manifestV2Schema>;
export type SchedulerConfig = ModelManifest['scheduler'];
export type KvLayerLayout = z.infer<typeof kvLayerSchema>;
export type ParserSpec = NonNullable<ModelManifest['parser']>;

/** What one garment of a category looks like to the graphs: its image size, latent size and K/V layout. */
export interface ReferenceLayout {
  width: number;
  height: number;
  latentWidth: number;
  latentHeight: number;
  /** Per attention layer: heads, tokens (of this category's reference), dim. */
  layers: KvLayerLayout[];
  /** One garment's K and V over all layers in float16. */
  bytes: number;
}

export const REQUIRED_GRAPHS = ['vae_encoder.onnx', 'vae_decoder.onnx', 'reference_encoder.onnx', 'denoiser.onnx'] as const;
export const PARSER_GRAPH = 'parser.onnx';

export interface ModelPackage {
  dir: string;
  manifest: ModelManifest;
  /** "name@version", stamped into every cache so a cache of another model is rejected. */
  id: string;
  hasParser: boolean;
  /** 1: float32 K/V per batch row; 2: float16 K/V banks gathered by per-row token indices. */
  format: 1 | 2;
  /** The reference layout of every category of `manifest.categories`. */
  references: ReadonlyMap<string, ReferenceLayout>;
  /** Attention layers (name, heads, dim) in graph order; token counts are per category. */
  kvLayers: readonly { name: string; heads: number; dim: number }[];
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
    const parsed: unknown = JSON.parse(manifestText);
    const format = typeof parsed === 'object' && parsed !== null ? (parsed as { format?: unknown }).format : undefined;
    if (!(PACKAGE_FORMATS as readonly unknown[]).includes(format)) {
      throw new InferenceError(
        'INVALID_MANIFEST',
        `model package ${dir}: manifest.json has format ${JSON.stringify(format)}; this engine reads formats ${PACKAGE_FORMATS.join(' and ')}`,
        {
          files: ['manifest.json'],
        },
      );
    }
    manifest = manifestSchema.parse(parsed);
  } catch (cause) {
    if (cause instanceof InferenceError) throw cause;
    const detail = cause instanceof z.ZodError ? z.prettifyError(cause) : String(cause);
    throw new InferenceError('INVALID_MANIFEST', `model package ${dir}: manifest.json is invalid: ${detail}`, {
      files: ['manifest.json'],
      cause,
    });
  }
  const references = referenceLayouts(dir, manifest);
  await verifyPackageFiles(dir, manifest);
  const hasParser = PARSER_GRAPH in manifest.files;
  await verifyExternalData(dir, manifest, hasParser ? [...REQUIRED_GRAPHS, PARSER_GRAPH] : REQUIRED_GRAPHS);
  return {
    dir,
    manifest,
    id: `${manifest.name}@${manifest.version}`,
    hasParser,
    format: manifest.format,
    references,
    kvLayers: manifest.kv.layers.map(({ name, heads, dim }) => ({ name, heads, dim })),
  };
}

/** Each category's reference layout, from format 1's single size or format 2's per-category sizes. */
function referenceLayouts(dir: string, manifest: ModelManifest): Map<string, ReferenceLayout> {
  const { downscale, channels } = manifest.latent;
  const problems: string[] = [];
  const layouts = new Map<string, ReferenceLayout>();
  const layout = (width: number, height: number, layers: KvLayerLayout[]): ReferenceLayout => ({
    width,
    height,
    latentWidth: width / downscale,
    latentHeight: height / downscale,
    layers,
    bytes: layers.reduce((sum, l) => sum + 2 * 2 * l.heads * l.tokens * l.dim, 0),
  });
  if (manifest.format === 1) {
    const { reference, referenceLatent, kv } = manifest;
    if (referenceLatent.width * downscale !== reference.width || referenceLatent.height * downscale !== reference.height) {
      problems.push(
        `referenceLatent ${referenceLatent.width}x${referenceLatent.height} does not match reference ${reference.width}x${reference.height}`,
      );
    }
    if (referenceLatent.channels !== channels) problems.push('referenceLatent.channels differs from latent.channels');
    for (const category of manifest.categories) layouts.set(category, layout(reference.width, reference.height, kv.layers));
  } else {
    for (const category of manifest.categories) {
      const reference = manifest.references[category];
      if (reference === undefined) {
        problems.push(`references has no entry for ${category}`);
        continue;
      }
      if (reference.width % downscale !== 0 || reference.height % downscale !== 0) {
        problems.push(
          `references.${category} ${reference.width}x${reference.height} is not a multiple of the latent downscale ${downscale}`,
        );
      }
      if (reference.tokens.length !== manifest.kv.layers.length) {
        problems.push(`references.${category}.tokens has ${reference.tokens.length} entries, kv.layers ${manifest.kv.layers.length}`);
        continue;
      }
      const layers = manifest.kv.layers.map((l, i) => ({ name: l.name, heads: l.heads, tokens: reference.tokens[i]!, dim: l.dim }));
      layouts.set(category, layout(reference.width, reference.height, layers));
    }
  }
  if (problems.length > 0)
    throw new InferenceError('INVALID_MANIFEST', `model package ${dir}: manifest.json is inconsistent: ${problems.join('; ')}`, {
      files: ['manifest.json'],
    });
  return layouts;
}

/**
 * A graph may keep its weights in ONNX external-data files (format 2: the denoiser and the
 * reference encoder share one). onnxruntime reads them by the names inside the graph, so each
 * must be a file of the package listed (and so checksummed) in manifest.files.
 */
async function verifyExternalData(dir: string, manifest: ModelManifest, graphs: readonly string[]): Promise<void> {
  for (const graph of graphs) {
    let locations: string[];
    try {
      locations = externalDataLocations(await readFile(path.join(dir, graph)));
    } catch (cause) {
      throw new InferenceError(
        'MODEL_CONTRACT_MISMATCH',
        `model package ${dir}: ${graph} is not a readable ONNX model (${cause instanceof Error ? cause.message : String(cause)})`,
        {
          files: [graph],
          cause,
        },
      );
    }
    for (const location of locations) {
      const absolute = path.resolve(dir, path.dirname(graph), location);
      const relative = path.relative(dir, absolute).split(path.sep).join('/');
      if (!absolute.startsWith(dir + path.sep) || !(relative in manifest.files)) {
        throw new InferenceError(
          'INVALID_MANIFEST',
          `model package ${dir}: ${graph} keeps weights in ${location}, which manifest.files does not list (every file a graph reads must be checksummed)`,
          { files: [graph] },
        );
      }
    }
  }
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
    throw new InferenceError(
      'MODEL_FILE_MISSING',
      `model package ${dir}: missing file${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      {
        files: missing,
      },
    );
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
