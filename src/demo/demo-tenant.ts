// The demo tenant: created through the ordinary services (as the operator, then with the
// tenant's own ADMIN key), with the model package's sample garments and person photos. Its
// API key is stored hashed like any other, so the credentials are also kept (a keeper, below)
// to be printed on every start, like the operator token, and used by every API process.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from '../blobs';
import type { Authenticator } from '../auth/authenticator';
import type { TenantService } from '../tenants/tenant-service';
import type { ShopperService } from '../shoppers/shopper-service';
import type { GarmentService } from '../garments/garment-service';
import type { PhotoService } from '../photos/photo-service';
import type { Logger } from '../observability/logger';
import type { DemoSamples } from './demo-samples';

export interface DemoCredentials {
  tenantId: string;
  /** The tenant's ADMIN API key: for the catalog page and the demo session endpoint. */
  apiKey: string;
}

export const DEMO_TENANT_NAME = 'Atelier demo';
const fileName = 'demo.json';
const blobKey = 'demo/credentials';

/** The services the demo works through, like any retailer's back end would. */
export interface DemoServices {
  authenticator: Authenticator;
  tenants: TenantService;
  shoppers: ShopperService;
  garments: GarmentService;
  photos: PhotoService;
}

/** Where the demo's credentials are kept between starts, and shared by the API processes. */
export interface DemoCredentialsKeeper {
  /** Where they are kept, for the operator (a path, or a key of the blob store). */
  readonly location: string;
  /** The credentials kept by an earlier seeding, or null. */
  read(): Promise<DemoCredentials | null>;
  write(credentials: DemoCredentials): Promise<void>;
}

/** demo.json in the data directory (mode 0600): the embedded default, and processes sharing that directory. */
export function demoCredentialsFile(dataDir: string): DemoCredentialsKeeper {
  const path = join(dataDir, fileName);
  return {
    location: path,
    read: async () => (existsSync(path) ? parseCredentials(readFileSync(path, 'utf8')) : null),
    write: async (credentials) => {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    },
  };
}

/**
 * A blob of the blob store: processes that share nothing but the store (S3) see the same demo.
 * No link is ever signed for this key, so it is as private as the bucket.
 */
export function demoCredentialsBlob(blobs: BlobStore): DemoCredentialsKeeper {
  return {
    location: `the blob store, key ${blobKey}`,
    read: async () => {
      const blob = await blobs.get(blobKey);
      return blob ? parseCredentials(blob.data.toString('utf8')) : null;
    },
    write: (credentials) => blobs.put(blobKey, Buffer.from(JSON.stringify(credentials), 'utf8'), 'application/json'),
  };
}

function parseCredentials(text: string): DemoCredentials | null {
  const parsed = JSON.parse(text) as Partial<DemoCredentials>;
  return typeof parsed.tenantId === 'string' && typeof parsed.apiKey === 'string'
    ? { tenantId: parsed.tenantId, apiKey: parsed.apiKey }
    : null;
}

/**
 * Whether this start creates the demo tenant (when it does not exist yet). `forced`: the
 * start option (tests); otherwise ATELIER_DEMO: on always, auto only on the embedded default's
 * first start (an empty data directory, the config's own database), off never.
 */
export function demoWanted(
  setting: 'auto' | 'on' | 'off',
  start: { forced: boolean | undefined; firstStart: boolean; embedded: boolean; databaseOverridden: boolean },
): boolean {
  if (start.forced !== undefined) return start.forced;
  if (setting === 'on') return true;
  return setting === 'auto' && start.firstStart && start.embedded && !start.databaseOverridden;
}

/** Creates the demo tenant, its garments (their caches are enqueued as usual) and person photos. */
export async function seedDemoTenant(
  services: DemoServices,
  samples: DemoSamples,
  keeper: DemoCredentialsKeeper,
  logger: Logger,
): Promise<DemoCredentials> {
  // The server itself acts as the platform operator here, as createTenant requires.
  const created = await services.tenants.createTenant({ kind: 'operator' }, { name: DEMO_TENANT_NAME });
  if (!created.ok) throw new Error(`could not create the demo tenant: ${created.errors.map((e) => e.message).join('; ')}`);
  const credentials: DemoCredentials = { tenantId: created.value.tenant.id, apiKey: created.value.apiKey };
  // Kept at once: the key is shown only now, and a start interrupted below must not lose it.
  await keeper.write(credentials);
  const viewer = await services.authenticator.authenticate(credentials.apiKey);
  for (const garment of samples.garments) {
    const outcome = await services.garments.createGarment(viewer, {
      sku: garment.sku,
      name: garment.name,
      category: garment.category,
      image: { dataUrl: garment.dataUrl },
    });
    if (!outcome.ok) throw new Error(`could not create demo garment ${garment.sku}: ${outcome.errors.map((e) => e.message).join('; ')}`);
  }
  for (const person of samples.persons) {
    const outcome = await services.photos.uploadPersonPhoto(viewer, { image: { dataUrl: person.dataUrl }, shopperId: undefined });
    if (!outcome.ok) throw new Error(`could not upload a demo person photo: ${outcome.errors.map((e) => e.message).join('; ')}`);
  }
  logger.info(
    { tenantId: credentials.tenantId, garments: samples.garments.length, photos: samples.persons.length },
    'created the demo tenant',
  );
  return credentials;
}
