// Who reads shopper data: person photos, outfits and renders need RENDERS_READ (RENDERS_WRITE
// and ADMIN include it), Shopper objects need ADMIN wherever they appear, and a shopper
// session sees only its own, plus the outfit and photo of a render a key made for it. Every
// entry point is probed: the lists, node(id:) on each type, nested fields, renderProgress, and
// the mutations that return these objects.
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createApiKey, createGarment, createShopperSession, createTenant, gql, ok, pngDataUrl } from '../support/graphql-client';
import { subscribeOnce } from '../support/graphql-ws';

const UPLOAD_PHOTO = `mutation($d: String!, $s: ID) { uploadPersonPhoto(input: { image: { dataUrl: $d }, shopperId: $s }) { personPhoto { id } userErrors { code } } }`;
const CREATE_OUTFIT = `mutation($g: ID!, $s: ID) { createOutfit(input: { name: "o", garmentIds: [$g], shopperId: $s }) { outfit { id } userErrors { code } } }`;
const REQUEST_RENDER = `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p }) { render { id } userErrors { code field } } }`;
const PROGRESS = `subscription($id: ID!) { renderProgress(renderId: $id) { status render { id outfit { id name garments { id } } personPhoto { id } } } }`;

interface World {
  admin: string;
  keys: Record<'catalogRead' | 'catalogWrite' | 'rendersRead' | 'rendersWrite', string>;
  garment: string;
  alice: { shopperId: string; token: string };
  bob: { shopperId: string; token: string };
  alicePhoto: string;
  aliceOutfit: string;
  aliceRender: string;
  bobPhoto: string;
  bobOutfit: string;
  bobRender: string;
  tenantOutfit: string;
  /** Made by the ADMIN key from alice's photo with the tenant-wide outfit: a render for alice. */
  keyRender: string;
  /** The same, canceled: its progress subscription ends at once. */
  canceledKeyRender: string;
}

async function makeWorld(url: string): Promise<World> {
  const { adminKey: admin } = await createTenant(url, 'Scopes');
  const keys = {
    catalogRead: await createApiKey(url, admin, ['CATALOG_READ']),
    catalogWrite: await createApiKey(url, admin, ['CATALOG_WRITE']),
    rendersRead: await createApiKey(url, admin, ['RENDERS_READ']),
    rendersWrite: await createApiKey(url, admin, ['RENDERS_WRITE']),
  };
  const garment = await createGarment(url, admin, 'TEE', 'TOP');
  const alice = await createShopperSession(url, admin, 'alice@example.com');
  const bob = await createShopperSession(url, admin, 'bob@example.com');
  const photo = async (token: string, shopperId: string | null = null) =>
    (await ok(url, token, UPLOAD_PHOTO, { d: await pngDataUrl(), s: shopperId })).uploadPersonPhoto.personPhoto.id as string;
  const outfit = async (token: string, shopperId: string | null = null) =>
    (await ok(url, token, CREATE_OUTFIT, { g: garment, s: shopperId })).createOutfit.outfit.id as string;
  const render = async (token: string, o: string, p: string) => {
    const r = (await ok(url, token, REQUEST_RENDER, { o, p })).requestRender;
    if (r.userErrors.length) throw new Error(JSON.stringify(r.userErrors));
    return r.render.id as string;
  };
  const alicePhoto = await photo(admin, alice.shopperId);
  const tenantOutfit = await outfit(admin);
  const canceledKeyRender = await render(admin, tenantOutfit, alicePhoto);
  await ok(url, admin, `mutation($id: ID!) { cancelRender(id: $id) { render { id } } }`, { id: canceledKeyRender });
  const keyRender = await render(admin, tenantOutfit, alicePhoto);
  const aliceOutfit = await outfit(alice.token);
  const aliceRender = await render(alice.token, aliceOutfit, alicePhoto);
  const bobPhoto = await photo(bob.token);
  const bobOutfit = await outfit(bob.token);
  const bobRender = await render(bob.token, bobOutfit, bobPhoto);
  return {
    admin,
    keys,
    garment,
    alice,
    bob,
    alicePhoto,
    aliceOutfit,
    aliceRender,
    bobPhoto,
    bobOutfit,
    bobRender,
    tenantOutfit,
    keyRender,
    canceledKeyRender,
  };
}

const codes = (r: { errors?: { extensions?: { code?: string } }[] }) => (r.errors ?? []).map((e) => e.extensions?.code);
const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((e) => e.node.id).sort();

describe.each(databaseKinds())('scopes on shopper data on %s', (kind) => {
  let server: TestServer;
  let url: string;
  let w: World;
  jest.setTimeout(60_000);

  beforeAll(async () => {
    server = await startTestServer(kind);
    url = server.url;
    w = await makeWorld(url);
  });
  afterAll(() => server?.stop());

  /** Every read of shopper data, each a query of its own, with the type it reads. */
  const reads = (x: World): Record<string, { query: string; variables?: Record<string, unknown> }> => ({
    personPhotos: { query: `{ personPhotos { totalCount } }` },
    outfits: { query: `{ outfits { totalCount } }` },
    renders: { query: `{ renders { totalCount } }` },
    'node(PersonPhoto)': { query: `query($id: ID!) { node(id: $id) { id } }`, variables: { id: x.alicePhoto } },
    'node(Outfit)': { query: `query($id: ID!) { node(id: $id) { id } }`, variables: { id: x.tenantOutfit } },
    'node(Render)': { query: `query($id: ID!) { node(id: $id) { id } }`, variables: { id: x.keyRender } },
  });
  /** Every read of Shopper objects. */
  const shopperReads = (x: World): Record<string, { query: string; variables?: Record<string, unknown> }> => ({
    shoppers: { query: `{ shoppers { totalCount edges { node { externalId } } } }` },
    'node(Shopper)': { query: `query($id: ID!) { node(id: $id) { ... on Shopper { externalId } } }`, variables: { id: x.alice.shopperId } },
    'PersonPhoto.shopper': {
      query: `query($id: ID!) { node(id: $id) { ... on PersonPhoto { shopper { externalId } } } }`,
      variables: { id: x.alicePhoto },
    },
    'Outfit.shopper': {
      query: `query($id: ID!) { node(id: $id) { ... on Outfit { shopper { externalId } } } }`,
      variables: { id: x.bobOutfit },
    },
    'Render.personPhoto.shopper': {
      query: `query($id: ID!) { node(id: $id) { ... on Render { personPhoto { shopper { externalId } } } } }`,
      variables: { id: x.keyRender },
    },
    'personPhotos.shopper': { query: `{ personPhotos { edges { node { shopper { id externalId } } } } }` },
  });

  test('CATALOG_READ and CATALOG_WRITE keys read the catalog but no photo, outfit, render or shopper: FORBIDDEN on every entry point', async () => {
    for (const key of [w.keys.catalogRead, w.keys.catalogWrite]) {
      expect(codes(await gql(url, key, `{ garments { totalCount } }`))).toEqual([]);
      for (const [name, read] of Object.entries({ ...reads(w), ...shopperReads(w) })) {
        const r = await gql(url, key, read.query, read.variables);
        expect([name, codes(r)]).toEqual([name, ['FORBIDDEN']]);
        expect(JSON.stringify(r.data ?? null)).not.toContain('example.com');
      }
      const progress = await subscribeOnce(url, key, PROGRESS, { id: w.canceledKeyRender });
      expect(progress.events).toEqual([]);
      expect(codes(progress)).toEqual(['FORBIDDEN']);
    }
  });

  test('RENDERS_READ and RENDERS_WRITE keys read every photo, outfit and render of the tenant, but no Shopper object', async () => {
    for (const key of [w.keys.rendersRead, w.keys.rendersWrite]) {
      const lists = await ok(
        url,
        key,
        `{
        personPhotos { edges { node { id } } }
        outfits { edges { node { id garments { id } } } }
        renders { edges { node { id outfit { id } personPhoto { id } } } }
      }`,
      );
      expect(ids(lists.personPhotos)).toEqual([w.alicePhoto, w.bobPhoto].sort());
      expect(ids(lists.outfits)).toEqual([w.tenantOutfit, w.aliceOutfit, w.bobOutfit].sort());
      expect(ids(lists.renders)).toEqual([w.keyRender, w.canceledKeyRender, w.aliceRender, w.bobRender].sort());
      for (const [name, read] of Object.entries(reads(w))) {
        const r = await gql(url, key, read.query, read.variables);
        expect([name, codes(r)]).toEqual([name, []]);
        expect(r.data!.node ?? true).not.toBeNull();
      }
      for (const [name, read] of Object.entries(shopperReads(w))) {
        const r = await gql(url, key, read.query, read.variables);
        expect([name, codes(r)[0]]).toEqual([name, 'FORBIDDEN']);
        expect(JSON.stringify(r.data ?? null)).not.toContain('example.com');
      }
      const progress = await subscribeOnce(url, key, PROGRESS, { id: w.canceledKeyRender });
      expect(progress).toMatchObject({
        completed: true,
        events: [{ renderProgress: { status: 'CANCELED', render: { id: w.canceledKeyRender, outfit: { id: w.tenantOutfit } } } }],
      });
    }
  });

  test('RENDERS_READ does not write; RENDERS_WRITE makes photos and outfits for a shopper without reading the Shopper back', async () => {
    const read = await gql(url, w.keys.rendersRead, CREATE_OUTFIT, { g: w.garment, s: null });
    expect(codes(read)).toEqual(['FORBIDDEN']);
    const carol = await createShopperSession(url, w.admin, 'carol@example.com');
    const made = await ok(url, w.keys.rendersWrite, UPLOAD_PHOTO, { d: await pngDataUrl(), s: carol.shopperId });
    expect(made.uploadPersonPhoto.userErrors).toEqual([]);
    // The payload's nested Shopper is refused like any other (the outfit is made all the same).
    const nested = await gql(
      url,
      w.keys.rendersWrite,
      `mutation($g: ID!, $s: ID) { createOutfit(input: { name: "n", garmentIds: [$g], shopperId: $s }) { outfit { id shopper { externalId } } } }`,
      { g: w.garment, s: carol.shopperId },
    );
    expect(codes(nested)).toEqual(['FORBIDDEN']);
    expect(nested.data?.createOutfit?.outfit?.shopper ?? null).toBeNull();
    // Carol sees what was made for her.
    const carols = await ok(url, carol.token, `{ personPhotos { edges { node { id } } } outfits { totalCount } }`);
    expect(ids(carols.personPhotos)).toEqual([made.uploadPersonPhoto.personPhoto.id]);
    expect(carols.outfits.totalCount).toBe(1);
    // A shopper id of no shopper is still NOT_FOUND.
    const missing = await ok(url, w.keys.rendersWrite, CREATE_OUTFIT, { g: w.garment, s: w.tenantOutfit });
    expect(missing.createOutfit.userErrors).toEqual([{ code: 'NOT_FOUND' }]);
  });

  test('an ADMIN key reads everything, nested shoppers included', async () => {
    const r = await ok(
      url,
      w.admin,
      `{
      shoppers { totalCount }
      personPhotos { edges { node { id shopper { externalId } } } }
      renders { edges { node { id personPhoto { shopper { externalId } } } } }
    }`,
    );
    expect(r.shoppers.totalCount).toBeGreaterThanOrEqual(2);
    const photo = r.personPhotos.edges.find((e: { node: { id: string } }) => e.node.id === w.alicePhoto);
    expect(photo!.node.shopper).toEqual({ externalId: 'alice@example.com' });
  });

  test('a shopper session sees only its own photos, outfits, renders and Shopper', async () => {
    const alice = await ok(
      url,
      w.alice.token,
      `{
      personPhotos { edges { node { id shopper { externalId } } } }
      outfits { edges { node { id } } }
    }`,
    );
    expect(alice.personPhotos.edges).toEqual([{ node: { id: w.alicePhoto, shopper: { externalId: 'alice@example.com' } } }]);
    expect(ids(alice.outfits)).toEqual([w.aliceOutfit]);
    const node = `query($id: ID!) { node(id: $id) { id } }`;
    for (const id of [w.bobPhoto, w.bobOutfit, w.bobRender, w.bob.shopperId, w.tenantOutfit]) {
      expect((await ok(url, w.alice.token, node, { id })).node).toBeNull();
    }
    for (const id of [w.alicePhoto, w.aliceOutfit, w.aliceRender, w.keyRender, w.alice.shopperId]) {
      expect((await ok(url, w.alice.token, node, { id })).node).toEqual({ id });
    }
    expect(codes(await gql(url, w.alice.token, `{ shoppers { totalCount } }`))).toEqual(['FORBIDDEN']);
    const bob = await ok(url, w.bob.token, `{ renders { edges { node { id } } } }`);
    expect(ids(bob.renders)).toEqual([w.bobRender]);
    // Nor can she follow bob's render.
    const foreign = await subscribeOnce(url, w.alice.token, PROGRESS, { id: w.bobRender });
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
  });

  test("a render a key made from a shopper's photo with a tenant-wide outfit keeps that shopper's renders list working", async () => {
    const r = await gql(
      url,
      w.alice.token,
      `{
      renders { totalCount edges { node { id outfit { id name garments { id } shopper { id } } personPhoto { id } } } }
    }`,
    );
    expect(r.errors).toBeUndefined();
    const byId = new Map(r.data!.renders.edges.map((e: { node: { id: string } }) => [e.node.id, e.node]));
    expect([...byId.keys()].sort()).toEqual([w.keyRender, w.canceledKeyRender, w.aliceRender].sort());
    // The render shows its own outfit (tenant-wide: no shopper) and alice's photo.
    expect(byId.get(w.keyRender)).toEqual({
      id: w.keyRender,
      outfit: { id: w.tenantOutfit, name: 'o', garments: [{ id: w.garment }], shopper: null },
      personPhoto: { id: w.alicePhoto },
    });
    // So does its progress, and node(id:).
    const progress = await subscribeOnce(url, w.alice.token, PROGRESS, { id: w.canceledKeyRender });
    expect(progress).toMatchObject({
      completed: true,
      events: [{ renderProgress: { status: 'CANCELED', render: { outfit: { id: w.tenantOutfit } } } }],
    });
    const node = await gql(url, w.alice.token, `query($id: ID!) { node(id: $id) { ... on Render { outfit { id } personPhoto { id } } } }`, {
      id: w.keyRender,
    });
    expect(node).toMatchObject({ data: { node: { outfit: { id: w.tenantOutfit }, personPhoto: { id: w.alicePhoto } } } });
    expect(node.errors).toBeUndefined();
  });

  test("a render of one shopper's photo with another shopper's outfit is refused (SHOPPER_MISMATCH)", async () => {
    for (const key of [w.admin, w.keys.rendersWrite]) {
      const r = (await ok(url, key, REQUEST_RENDER, { o: w.bobOutfit, p: w.alicePhoto })).requestRender;
      expect(r).toEqual({ render: null, userErrors: [{ code: 'SHOPPER_MISMATCH', field: ['input', 'outfitId'] }] });
    }
    // Alice cannot name bob's outfit at all.
    const own = (await ok(url, w.alice.token, REQUEST_RENDER, { o: w.bobOutfit, p: w.alicePhoto })).requestRender;
    expect(own.userErrors).toEqual([{ code: 'NOT_FOUND', field: ['input', 'outfitId'] }]);
  });

  test('createApiKey takes RENDERS_READ', async () => {
    const created = await ok(
      url,
      w.admin,
      `mutation { createApiKey(input: { name: "reader", scopes: [RENDERS_READ] }) { apiKey { scopes } userErrors { code } } }`,
    );
    expect(created.createApiKey).toEqual({ apiKey: { scopes: ['RENDERS_READ'] }, userErrors: [] });
  });
});
