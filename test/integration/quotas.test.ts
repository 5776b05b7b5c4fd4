// Quotas and clean-up: a tenant stores at most ATELIER_TENANT_STORAGE_MB of images (garments,
// person photos, staged uploads not yet used), a shopper holds at most
// ATELIER_SHOPPER_MAX_PHOTOS photos (its unused uploads count), deletePersonPhoto frees both
// and takes the photo's encodings, renders and results along, and the sweep deletes uploads an
// hour after their link expired, whatever became of them. On PGlite, and on PostgreSQL when
// TEST_DATABASE_URL is set.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createShopperSession, createTenant, gql, ok, pngDataUrl, createOutfit } from '../support/graphql-client';
import { collect, wsClient } from '../support/graphql-ws';
import { fromGlobalId } from '../../src/common/ids';
import { UPLOAD_KEEP_MS, UPLOAD_TTL_MS } from '../../src/uploads/upload-service';
import { projectRoot } from '../../src/common/project-paths';
import { deleteExpiredUploads } from '../../src/uploads/expired-uploads-sweep';
import type { NodeAnswer } from '../support/answers';

const MB = 1024 * 1024;
const CREATE_UPLOAD = `mutation($s: Int!) { createUpload(input: { contentType: "image/png", byteSize: $s }) { uploadId uploadUrl userErrors { code field } } }`;
const UPLOAD_PHOTO = `mutation($i: UploadPersonPhotoInput!) { uploadPersonPhoto(input: $i) { personPhoto { id } userErrors { code field } } }`;
const DELETE_PHOTO = `mutation($id: ID!) { deletePersonPhoto(id: $id) { deletedPersonPhotoId userErrors { code field } } }`;
const CREATE_GARMENT = `mutation($i: CreateGarmentInput!) { createGarment(input: $i) { garment { id } userErrors { code field } } }`;

const codes = (payload: { userErrors: { code: string }[] }) => payload.userErrors.map((e) => e.code);

/** Stores the bytes of a staged upload (PUT to its signed URL). */
async function put(server: TestServer, uploadUrl: string, bytes: Buffer): Promise<number> {
  const url = uploadUrl.replace(/^http:\/\/localhost:\d+/, server.url);
  return (await fetch(url, { method: 'PUT', body: bytes })).status;
}

/** Files under the server's blob store whose key starts with `prefix`. */
function blobFiles(server: TestServer, prefix: string): string[] {
  const dir = join(server.dataDir, 'blobs', prefix);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe.each(databaseKinds())('quotas on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind, { ATELIER_TENANT_STORAGE_MB: '1', ATELIER_SHOPPER_MAX_PHOTOS: '2' });
  });
  afterAll(() => server.stop());

  test('the tenant storage quota counts staged uploads, garments and photos, and deleting a photo frees its share', async () => {
    const { adminKey } = await createTenant(server.url, 'Storage');
    const photoImage = await pngDataUrl(200, 300, '#884422');
    const photo = (await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image: { dataUrl: photoImage } } })).uploadPersonPhoto.personPhoto
      .id;
    const photoBytes = (
      await server.db.withSystem((tx) => tx.personPhoto.findUniqueOrThrow({ where: { id: fromGlobalId(photo, 'PersonPhoto')! } }))
    ).imageBytes;
    expect(photoBytes).toBeGreaterThan(100);
    // Reserve all but 50 bytes of the quota with a staged upload.
    const staged = (await ok(server.url, adminKey, CREATE_UPLOAD, { s: MB - photoBytes - 50 })).createUpload;
    expect(staged.userErrors).toEqual([]);
    // Nothing of 50 bytes or more fits now: an upload, a garment, a photo.
    expect((await ok(server.url, adminKey, CREATE_UPLOAD, { s: 51 })).createUpload).toEqual({
      uploadId: null,
      uploadUrl: null,
      userErrors: [{ code: 'STORAGE_QUOTA_EXCEEDED', field: ['input', 'byteSize'] }],
    });
    const garment = (
      await ok(server.url, adminKey, CREATE_GARMENT, {
        i: { sku: 'Q', name: 'Q', category: 'TOP', image: { dataUrl: await pngDataUrl() } },
      })
    ).createGarment;
    expect(garment).toEqual({ garment: null, userErrors: [{ code: 'STORAGE_QUOTA_EXCEEDED', field: ['input', 'image'] }] });
    expect(codes((await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image: { dataUrl: photoImage } } })).uploadPersonPhoto)).toEqual([
      'STORAGE_QUOTA_EXCEEDED',
    ]);
    // The refused image left nothing behind.
    expect(await server.db.withSystem((tx) => tx.garment.count({ where: { sku: 'Q' } }))).toBe(0);
    // Deleting the photo frees its bytes.
    expect((await ok(server.url, adminKey, DELETE_PHOTO, { id: photo })).deletePersonPhoto).toEqual({
      deletedPersonPhotoId: photo,
      userErrors: [],
    });
    expect(codes((await ok(server.url, adminKey, CREATE_UPLOAD, { s: photoBytes })).createUpload)).toEqual([]);
  });

  test('two uploads at once that fit only one by one: exactly one is accepted', async () => {
    const { adminKey } = await createTenant(server.url, 'Race');
    const answers = await Promise.all([0, 1, 2, 3].map(() => ok(server.url, adminKey, CREATE_UPLOAD, { s: Math.floor(MB / 2) + 1 })));
    expect(answers.map((a) => codes(a.createUpload)).sort()).toEqual([
      [],
      ['STORAGE_QUOTA_EXCEEDED'],
      ['STORAGE_QUOTA_EXCEEDED'],
      ['STORAGE_QUOTA_EXCEEDED'],
    ]);
  });

  test('a shopper holds at most ATELIER_SHOPPER_MAX_PHOTOS photos, its unused uploads included, whoever uploads them', async () => {
    const { adminKey } = await createTenant(server.url, 'Shoppers');
    const { shopperId, token } = await createShopperSession(server.url, adminKey, 'quota');
    const image = { dataUrl: await pngDataUrl() };
    const first = (await ok(server.url, token, UPLOAD_PHOTO, { i: { image } })).uploadPersonPhoto;
    expect(first.userErrors).toEqual([]);
    // An upload staged by the shopper counts as its second photo.
    expect(codes((await ok(server.url, token, CREATE_UPLOAD, { s: 1000 })).createUpload)).toEqual([]);
    const refused = { personPhoto: null, userErrors: [{ code: 'PHOTO_QUOTA_EXCEEDED', field: ['input', 'image'] }] };
    expect((await ok(server.url, token, UPLOAD_PHOTO, { i: { image } })).uploadPersonPhoto).toEqual(refused);
    expect((await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image, shopperId } })).uploadPersonPhoto).toEqual(refused);
    expect(codes((await ok(server.url, token, CREATE_UPLOAD, { s: 1000 })).createUpload)).toEqual(['PHOTO_QUOTA_EXCEEDED']);
    // The tenant's own photos (no shopper) are not this shopper's.
    expect(codes((await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image } })).uploadPersonPhoto)).toEqual([]);
    // A shopper deletes its own photo, and has room again.
    expect(codes((await ok(server.url, token, DELETE_PHOTO, { id: first.personPhoto.id })).deletePersonPhoto)).toEqual([]);
    expect(codes((await ok(server.url, token, UPLOAD_PHOTO, { i: { image } })).uploadPersonPhoto)).toEqual([]);
  });

  test('deletePersonPhoto: a shopper only its own; a CATALOG_READ key never', async () => {
    const { adminKey } = await createTenant(server.url, 'Owners');
    const a = await createShopperSession(server.url, adminKey, 'a');
    const b = await createShopperSession(server.url, adminKey, 'b');
    const photo = (await ok(server.url, a.token, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl() } } })).uploadPersonPhoto
      .personPhoto.id;
    expect((await ok(server.url, b.token, DELETE_PHOTO, { id: photo })).deletePersonPhoto).toEqual({
      deletedPersonPhotoId: null,
      userErrors: [{ code: 'NOT_FOUND', field: ['id'] }],
    });
    const reader = (await ok(server.url, adminKey, `mutation { createApiKey(input: { name: "r", scopes: [CATALOG_READ] }) { secret } }`))
      .createApiKey.secret;
    expect((await gql(server.url, reader, DELETE_PHOTO, { id: photo })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await ok(server.url, a.token, `{ personPhotos { totalCount } }`)).personPhotos.totalCount).toBe(1);
    // Deleted once: a second try is NOT_FOUND.
    expect(codes((await ok(server.url, adminKey, DELETE_PHOTO, { id: photo })).deletePersonPhoto)).toEqual([]);
    expect(codes((await ok(server.url, adminKey, DELETE_PHOTO, { id: photo })).deletePersonPhoto)).toEqual(['NOT_FOUND']);
  });

  test("deletePersonPhoto takes the photo's renders along: a queued one is announced CANCELED to its subscribers", async () => {
    const { adminKey } = await createTenant(server.url, 'Renders');
    const garment = await createGarment(server.url, adminKey, 'G', 'TOP');
    const photo = (await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl() } } })).uploadPersonPhoto
      .personPhoto.id;
    const outfit = await createOutfit(server.url, adminKey, [garment], 'o');
    const render = (
      await ok(
        server.url,
        adminKey,
        `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: 2 }) { render { id } } }`,
        { o: outfit, p: photo },
      )
    ).requestRender.render.id;
    const client = wsClient(server.url, adminKey);
    let subscribed!: () => void;
    const first = new Promise<void>((resolve) => (subscribed = resolve));
    const watched = collect(client, `subscription($id: ID!) { renderProgress(renderId: $id) { status } }`, { id: render }, () =>
      subscribed(),
    );
    await first;
    expect(codes((await ok(server.url, adminKey, DELETE_PHOTO, { id: photo })).deletePersonPhoto)).toEqual([]);
    const events = await Promise.race([
      watched,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no final event')), 10_000)),
    ]);
    await client.dispose();
    expect(events.events.map((e) => e.renderProgress.status)).toEqual(['QUEUED', 'CANCELED']);
    const after = await ok(
      server.url,
      adminKey,
      `query($p: ID!, $r: ID!) { p: node(id: $p) { id } r: node(id: $r) { id } renders { totalCount } }`,
      { p: photo, r: render },
    );
    expect(after).toEqual({ p: null, r: null, renders: { totalCount: 0 } });
    expect(await server.db.withSystem((tx) => tx.personEncoding.count({ where: { photoId: fromGlobalId(photo, 'PersonPhoto')! } }))).toBe(
      0,
    );
  });

  test('the sweep deletes uploads an hour after their link expired: never filled, filled and unused, refused, and used', async () => {
    const { id, adminKey } = await createTenant(server.url, 'Sweep');
    const tenantId = fromGlobalId(id, 'Tenant')!;
    const png = Buffer.from((await pngDataUrl()).split(',')[1]!, 'base64');
    const stage = async (bytes: Buffer | null) => {
      const created = (await ok(server.url, adminKey, CREATE_UPLOAD, { s: 2000 })).createUpload;
      if (bytes) expect(await put(server, created.uploadUrl, bytes)).toBe(204);
      return created.uploadId as string;
    };
    await stage(null); // never filled
    await stage(png); // filled, never used
    const refused = await stage(Buffer.from('not an image at all'));
    expect(codes((await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image: { uploadId: refused } } })).uploadPersonPhoto)).toEqual([
      'NOT_AN_IMAGE',
    ]);
    const used = await stage(png);
    expect(codes((await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image: { uploadId: used } } })).uploadPersonPhoto)).toEqual([]);
    const rows = () => server.db.withTenant(tenantId, (tx) => tx.upload.findMany({ orderBy: { createdAt: 'asc' } }));
    expect((await rows()).map((u) => u.status)).toEqual(['PENDING', 'RECEIVED', 'RECEIVED', 'CONSUMED']);
    expect(blobFiles(server, `uploads/${tenantId}`)).toHaveLength(2);

    const sweeps = {
      deleteExpiredUploads: (now: Date) => deleteExpiredUploads({ uploads: server.services.uploads, logger: server.logger }, now),
    };
    // Within the hour after the links expire, nothing goes.
    expect(await sweeps.deleteExpiredUploads(new Date(Date.now() + UPLOAD_TTL_MS + UPLOAD_KEEP_MS - 60_000))).toBe(0);
    // A filled upload is refused once that hour is over, even before the sweep came by.
    await server.db.withTenant(tenantId, (tx) =>
      tx.upload.updateMany({ data: { expiresAt: new Date(Date.now() - UPLOAD_KEEP_MS - 1000) } }),
    );
    const late = (await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image: { uploadId: refused } } })).uploadPersonPhoto;
    expect(codes(late)).toEqual(['UPLOAD_EXPIRED']);
    expect(await sweeps.deleteExpiredUploads(new Date())).toBeGreaterThanOrEqual(4);
    expect(await rows()).toEqual([]);
    expect(blobFiles(server, `uploads/${tenantId}`)).toEqual([]);
  });
});

describe('deletePersonPhoto with the engine: the result and the encoding go too', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', {}, { role: 'all', sweeps: { intervalMs: 3_600_000 } });
  }, 120_000);
  afterAll(() => server.stop());

  test('after a render SUCCEEDED, deleting its photo deletes the photo, its encoding and the result image', async () => {
    const samples = join(projectRoot, 'models', 'tryon-tiny', 'samples');
    const sample = (path: string) => `data:image/png;base64,${readFileSync(join(samples, path)).toString('base64')}`;
    const { id, adminKey } = await createTenant(server.url, 'Engine');
    const tenantId = fromGlobalId(id, 'Tenant')!;
    const garment = await createGarment(server.url, adminKey, 'T', 'TOP', sample('garments/top/g0.png'));
    const photo = (await ok(server.url, adminKey, UPLOAD_PHOTO, { i: { image: { dataUrl: sample('persons/p0.png') } } })).uploadPersonPhoto
      .personPhoto.id;
    const outfit = await createOutfit(server.url, adminKey, [garment], 'o');
    const render = (
      await ok(
        server.url,
        adminKey,
        `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p, steps: 2 }) { render { id } } }`,
        { o: outfit, p: photo },
      )
    ).requestRender.render.id;
    const deadline = Date.now() + 60_000;
    let node: NodeAnswer;
    do {
      await new Promise((r) => setTimeout(r, 200));
      node = (
        await ok(server.url, adminKey, `query($id: ID!) { node(id: $id) { ... on Render { status result { url } } } }`, { id: render })
      ).node;
    } while (node.status !== 'SUCCEEDED' && Date.now() < deadline);
    expect(node.status).toBe('SUCCEEDED');
    const resultUrl = node.result.url.replace(/^http:\/\/localhost:\d+/, server.url);
    expect((await fetch(resultUrl)).status).toBe(200);
    const photoId = fromGlobalId(photo, 'PersonPhoto')!;
    expect(blobFiles(server, `encodings/${tenantId}/${photoId}`)).toHaveLength(1);
    expect(blobFiles(server, `photos/${tenantId}`)).toHaveLength(1);

    expect((await ok(server.url, adminKey, DELETE_PHOTO, { id: photo })).deletePersonPhoto).toEqual({
      deletedPersonPhotoId: photo,
      userErrors: [],
    });
    expect((await fetch(resultUrl)).status).toBe(404);
    expect(blobFiles(server, `encodings/${tenantId}/${photoId}`)).toEqual([]);
    expect(blobFiles(server, `photos/${tenantId}`)).toEqual([]);
    expect(blobFiles(server, `results/${tenantId}`)).toEqual([]);
  }, 120_000);
});
