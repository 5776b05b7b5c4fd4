// Outfit rules, person photos, and what a shopper session may do with them.
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createShopperSession, createTenant, gql, ok, pngDataUrl } from '../support/graphql-client';

const CREATE_OUTFIT = `mutation($i: CreateOutfitInput!) { createOutfit(input: $i) {
  outfit { id name garments { sku category } shopper { externalId } } userErrors { code field } } }`;
const UPLOAD_PHOTO = `mutation($i: UploadPersonPhotoInput!) { uploadPersonPhoto(input: $i) {
  personPhoto { id image { width height url } shopper { externalId } } userErrors { code field } } }`;

describe.each(databaseKinds())('outfits and photos on %s', (kind) => {
  let server: TestServer;
  let url: string;
  let key: string;
  const g: Record<string, string> = {};
  beforeAll(async () => {
    server = await startTestServer(kind);
    url = server.url;
    key = (await createTenant(url)).adminKey;
    for (const [sku, category] of [
      ['top', 'TOP'],
      ['top2', 'TOP'],
      ['bottom', 'BOTTOM'],
      ['dress', 'DRESS'],
      ['shoes', 'SHOES'],
      ['bag', 'BAG'],
      ['old', 'BAG'],
    ]) {
      g[sku!] = await createGarment(url, key, sku!, category!);
    }
    await ok(url, key, `mutation($id: ID!) { archiveGarment(id: $id) { userErrors { code } } }`, { id: g.old });
  });
  afterAll(() => server.stop());

  test('a full outfit of five keeps its garments in order', async () => {
    const data = await ok(url, key, CREATE_OUTFIT, { i: { name: 'Look', garmentIds: [g.top, g.bottom, g.shoes, g.bag] } });
    expect(data.createOutfit.userErrors).toEqual([]);
    expect(data.createOutfit.outfit.garments.map((x: { sku: string }) => x.sku)).toEqual(['top', 'bottom', 'shoes', 'bag']);
    const dress = await ok(url, key, CREATE_OUTFIT, { i: { name: 'Dress look', garmentIds: [g.dress, g.shoes, g.bag] } });
    expect(dress.createOutfit.userErrors).toEqual([]);
  });

  test.each([
    ['two tops', ['top', 'top2'], 'DUPLICATE_CATEGORY'],
    ['dress with top', ['dress', 'top'], 'DRESS_CONFLICT'],
    ['dress with bottom', ['bottom', 'dress'], 'DRESS_CONFLICT'],
    ['the same garment twice', ['shoes', 'shoes'], 'DUPLICATE_GARMENT'],
    ['an archived garment', ['old'], 'GARMENT_ARCHIVED'],
    ['no garments', [], 'OUTFIT_EMPTY'],
    ['six garments', ['top', 'bottom', 'shoes', 'bag', 'top2', 'dress'], 'TOO_MANY_GARMENTS'],
  ])('refuses %s', async (_, skus, code) => {
    const before = await server.db.withSystem((tx) => tx.outfit.count());
    const data = await ok(url, key, CREATE_OUTFIT, { i: { name: 'x', garmentIds: skus.map((s) => g[s]) } });
    expect(data.createOutfit.outfit).toBeNull();
    expect(data.createOutfit.userErrors.map((e: { code: string }) => e.code)).toContain(code);
    expect(await server.db.withSystem((tx) => tx.outfit.count())).toBe(before);
  });

  test('unknown and malformed garment ids are GARMENT_NOT_FOUND at their index', async () => {
    const data = await ok(url, key, CREATE_OUTFIT, {
      i: { name: 'x', garmentIds: [g.top, 'garbage', 'R2FybWVudDowMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDA'] },
    });
    expect(data.createOutfit.userErrors).toEqual([
      { code: 'GARMENT_NOT_FOUND', field: ['input', 'garmentIds', '1'] },
      { code: 'GARMENT_NOT_FOUND', field: ['input', 'garmentIds', '2'] },
    ]);
  });

  test('person photos: tenant upload for a shopper, shopper upload for itself', async () => {
    const alice = await createShopperSession(url, key, 'alice');
    const bob = await createShopperSession(url, key, 'bob');
    const byTenant = await ok(url, key, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl(96, 128) }, shopperId: alice.shopperId } });
    expect(byTenant.uploadPersonPhoto.personPhoto).toMatchObject({ image: { width: 96, height: 128 }, shopper: { externalId: 'alice' } });
    const bySelf = await ok(url, bob.token, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl(64, 64) } } });
    expect(bySelf.uploadPersonPhoto.personPhoto.shopper).toEqual({ externalId: 'bob' });
    // bob cannot upload for alice, nor see her photo
    const forOther = await ok(url, bob.token, UPLOAD_PHOTO, { i: { image: { dataUrl: await pngDataUrl() }, shopperId: alice.shopperId } });
    expect(forOther.uploadPersonPhoto.userErrors).toEqual([{ code: 'NOT_FOUND', field: ['input', 'shopperId'] }]);
    const seen = await ok(url, bob.token, `query($id: ID!) { node(id: $id) { id } personPhotos { totalCount } }`, {
      id: byTenant.uploadPersonPhoto.personPhoto.id,
    });
    expect(seen).toEqual({ node: null, personPhotos: { totalCount: 1 } });
    const bad = await ok(url, key, UPLOAD_PHOTO, { i: { image: { dataUrl: 'data:text/plain;base64,aGVsbG8=' } } });
    expect(bad.uploadPersonPhoto.userErrors[0]!.code).toBe('NOT_AN_IMAGE');
  });

  test('shopper outfits: own only, shopper set automatically', async () => {
    const carol = await createShopperSession(url, key, 'carol');
    const dave = await createShopperSession(url, key, 'dave');
    const mine = await ok(url, carol.token, CREATE_OUTFIT, { i: { name: 'Mine', garmentIds: [g.top] } });
    expect(mine.createOutfit.outfit.shopper).toEqual({ externalId: 'carol' });
    const list = await ok(url, dave.token, `{ outfits { totalCount } }`);
    expect(list.outfits.totalCount).toBe(0);
    const other = await ok(url, dave.token, `query($id: ID!) { node(id: $id) { id } }`, { id: mine.createOutfit.outfit.id });
    expect(other.node).toBeNull();
    const tenantView = await ok(url, key, `query($id: ID!) { node(id: $id) { ... on Outfit { name shopper { externalId } } } }`, {
      id: mine.createOutfit.outfit.id,
    });
    expect(tenantView.node).toEqual({ name: 'Mine', shopper: { externalId: 'carol' } });
    const forOther = await gql(url, dave.token, CREATE_OUTFIT, { i: { name: 'x', garmentIds: [g.top], shopperId: carol.shopperId } });
    expect(forOther.data?.createOutfit.userErrors).toEqual([{ code: 'NOT_FOUND', field: ['input', 'shopperId'] }]);
  });
});
