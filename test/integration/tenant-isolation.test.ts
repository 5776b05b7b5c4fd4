// Tenants never see each other's data: every field that takes an ID, given another
// tenant's ID, behaves exactly as for an ID that does not exist; and PostgreSQL's
// row-level security enforces the same underneath the application.
import { readFileSync } from 'node:fs';
import { buildSchema, getNamedType, isInputObjectType, type GraphQLField, type GraphQLInputType } from 'graphql';
import { randomUUID } from 'node:crypto';
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createShopperSession, createTenant, ok, pngDataUrl } from '../support/graphql-client';
import { schemaPath } from '../../src/main/paths';
import { subscribeOnce } from '../support/graphql-ws';

interface World {
  adminKey: string;
  garment: string;
  shopper: string;
  photo: string;
  outfit: string;
  apiKey: string;
  render: string;
  webhook: string;
}

async function makeWorld(url: string, name: string): Promise<World> {
  const { adminKey } = await createTenant(url, name);
  const garment = await createGarment(url, adminKey, 'SKU', 'TOP');
  const { shopperId: shopper } = await createShopperSession(url, adminKey, 'ext');
  const photo = (await ok(url, adminKey, `mutation($d: String!) { uploadPersonPhoto(input: { image: { dataUrl: $d } }) { personPhoto { id } } }`, { d: await pngDataUrl() })).uploadPersonPhoto.personPhoto.id;
  const outfit = (await ok(url, adminKey, `mutation($g: ID!) { createOutfit(input: { name: "o", garmentIds: [$g] }) { outfit { id } } }`, { g: garment })).createOutfit.outfit.id;
  const apiKey = (await ok(url, adminKey, `mutation { createApiKey(input: { name: "k", scopes: [CATALOG_READ] }) { apiKey { id } } }`)).createApiKey.apiKey.id;
  const render = (await ok(url, adminKey, `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p }) { render { id } userErrors { code } } }`, { o: outfit, p: photo })).requestRender.render.id;
  const webhook = (await ok(url, adminKey, `mutation { addWebhookEndpoint(input: { url: "https://hooks.example.com/hook", events: [RENDER_SUCCEEDED] }) { endpoint { id } userErrors { code } } }`)).addWebhookEndpoint.endpoint.id;
  return { adminKey, garment, shopper, photo, outfit, apiKey, render, webhook };
}

/** Every "Type.field(arg)" or "Type.field(input.x)" of the schema whose argument is an ID. */
function idArguments(): string[] {
  const schema = buildSchema(readFileSync(schemaPath, 'utf8'));
  const found: string[] = [];
  const visitInput = (field: string, path: string, type: GraphQLInputType, seen: Set<string>) => {
    const named = getNamedType(type);
    if (named.name === 'ID') found.push(`${field}(${path})`);
    if (isInputObjectType(named) && !seen.has(named.name)) {
      for (const inner of Object.values(named.getFields())) visitInput(field, `${path}.${inner.name}`, inner.type, new Set([...seen, named.name]));
    }
  };
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields()) as GraphQLField<unknown, unknown>[]) {
      for (const arg of field.args) visitInput(`${root.name}.${field.name}`, arg.name, arg.type, new Set());
    }
  }
  return found.sort();
}

type Probe = (url: string, attacker: World, victim: World) => Promise<void>;

const notFoundPayload = (payload: { userErrors: { code: string }[] }, code = 'NOT_FOUND') =>
  expect(payload.userErrors.map((e) => e.code)).toContain(code);

/** One probe per ID argument; a new ID argument without a probe fails the test below. */
const probes: Record<string, Probe> = {
  'Query.node(id)': async (url, a, v) => {
    for (const id of [v.garment, v.shopper, v.photo, v.outfit, v.apiKey, v.render, v.webhook]) {
      expect((await ok(url, a.adminKey, `query($id: ID!) { node(id: $id) { id } }`, { id })).node).toBeNull();
    }
  },
  'Mutation.archiveGarment(id)': async (url, a, v) => {
    notFoundPayload((await ok(url, a.adminKey, `mutation($id: ID!) { archiveGarment(id: $id) { userErrors { code } } }`, { id: v.garment })).archiveGarment);
  },
  'Mutation.createShopperSession(shopperId)': async (url, a, v) => {
    const r = (await ok(url, a.adminKey, `mutation($id: ID!) { createShopperSession(shopperId: $id) { token userErrors { code } } }`, { id: v.shopper })).createShopperSession;
    expect(r.token).toBeNull();
    notFoundPayload(r);
  },
  'Mutation.revokeApiKey(id)': async (url, a, v) => {
    notFoundPayload((await ok(url, a.adminKey, `mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }`, { id: v.apiKey })).revokeApiKey);
  },
  'Mutation.createOutfit(input.garmentIds)': async (url, a, v) => {
    notFoundPayload((await ok(url, a.adminKey, `mutation($g: ID!) { createOutfit(input: { name: "x", garmentIds: [$g] }) { userErrors { code } } }`, { g: v.garment })).createOutfit, 'GARMENT_NOT_FOUND');
  },
  'Mutation.createOutfit(input.shopperId)': async (url, a, v) => {
    notFoundPayload((await ok(url, a.adminKey, `mutation($g: ID!, $s: ID!) { createOutfit(input: { name: "x", garmentIds: [$g], shopperId: $s }) { userErrors { code } } }`, { g: a.garment, s: v.shopper })).createOutfit);
  },
  'Mutation.uploadPersonPhoto(input.shopperId)': async (url, a, v) => {
    notFoundPayload((await ok(url, a.adminKey, `mutation($d: String!, $s: ID!) { uploadPersonPhoto(input: { image: { dataUrl: $d }, shopperId: $s }) { userErrors { code } } }`, { d: await pngDataUrl(), s: v.shopper })).uploadPersonPhoto);
  },
  'Mutation.uploadPersonPhoto(input.image.uploadId)': async (url, a, v) => {
    const upload = (await ok(url, v.adminKey, `mutation { createUpload(input: { contentType: "image/png", byteSize: 100 }) { uploadId } }`)).createUpload.uploadId;
    notFoundPayload((await ok(url, a.adminKey, `mutation($u: ID!) { uploadPersonPhoto(input: { image: { uploadId: $u } }) { userErrors { code } } }`, { u: upload })).uploadPersonPhoto);
  },
  'Mutation.createGarment(input.image.uploadId)': async (url, a, v) => {
    const upload = (await ok(url, v.adminKey, `mutation { createUpload(input: { contentType: "image/png", byteSize: 100 }) { uploadId } }`)).createUpload.uploadId;
    notFoundPayload((await ok(url, a.adminKey, `mutation($u: ID!) { createGarment(input: { sku: "u", name: "u", category: TOP, image: { uploadId: $u } }) { userErrors { code } } }`, { u: upload })).createGarment);
  },
  'Mutation.requestRender(input.outfitId)': async (url, a, v) => {
    const r = (await ok(url, a.adminKey, `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p }) { render { id } userErrors { code } } }`, { o: v.outfit, p: a.photo })).requestRender;
    expect(r.render).toBeNull();
    notFoundPayload(r);
  },
  'Mutation.requestRender(input.personPhotoId)': async (url, a, v) => {
    const r = (await ok(url, a.adminKey, `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p }) { render { id } userErrors { code } } }`, { o: a.outfit, p: v.photo })).requestRender;
    expect(r.render).toBeNull();
    notFoundPayload(r);
  },
  'Mutation.cancelRender(id)': async (url, a, v) => {
    const r = (await ok(url, a.adminKey, `mutation($id: ID!) { cancelRender(id: $id) { render { id } userErrors { code } } }`, { id: v.render })).cancelRender;
    expect(r.render).toBeNull();
    notFoundPayload(r);
    const still = await ok(url, v.adminKey, `query($id: ID!) { node(id: $id) { ... on Render { status } } }`, { id: v.render });
    expect(still.node).toEqual({ status: 'QUEUED' });
  },
  'Mutation.retryReferenceCache(garmentId)': async (url, a, v) => {
    notFoundPayload((await ok(url, a.adminKey, `mutation($id: ID!) { retryReferenceCache(garmentId: $id) { garment { id } userErrors { code } } }`, { id: v.garment })).retryReferenceCache);
  },
  'Mutation.removeWebhookEndpoint(id)': async (url, a, v) => {
    notFoundPayload((await ok(url, a.adminKey, `mutation($id: ID!) { removeWebhookEndpoint(id: $id) { endpoint { id } userErrors { code } } }`, { id: v.webhook })).removeWebhookEndpoint);
    const still = await ok(url, v.adminKey, `{ webhookEndpoints { totalCount } }`);
    expect(still.webhookEndpoints.totalCount).toBe(1);
  },
  'Query.webhookDeliveries(endpointId)': async (url, a, v) => {
    const r = await ok(url, a.adminKey, `query($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount } }`, { id: v.webhook });
    expect(r.webhookDeliveries.totalCount).toBe(0);
  },
  'Subscription.renderProgress(renderId)': async (url, a, v) => {
    const result = await subscribeOnce(url, a.adminKey, `subscription($id: ID!) { renderProgress(renderId: $id) { status } }`, { id: v.render });
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  },
};

describe.each(databaseKinds())('tenant isolation on %s', (kind) => {
  let server: TestServer;
  let url: string;
  let attacker: World;
  let victim: World;
  beforeAll(async () => {
    server = await startTestServer(kind);
    url = server.url;
    attacker = await makeWorld(url, 'Attacker');
    victim = await makeWorld(url, 'Victim');
  });
  afterAll(() => server.stop());

  test('every ID argument of the schema has an isolation probe', () => {
    expect(idArguments()).toEqual(Object.keys(probes).sort());
  });

  test.each(Object.keys(probes).sort())('%s with another tenant\'s ID behaves as not found', async (name) => {
    await probes[name]!(url, attacker, victim);
  });

  test('lists show only the own tenant', async () => {
    const data = await ok(url, attacker.adminKey, `{ garments { totalCount } outfits { totalCount } personPhotos { totalCount } shoppers { totalCount } apiKeys { totalCount } }`);
    expect(data).toEqual({ garments: { totalCount: 1 }, outfits: { totalCount: 1 }, personPhotos: { totalCount: 1 }, shoppers: { totalCount: 1 }, apiKeys: { totalCount: 2 } });
    // and the victim's rows are untouched
    const v = await ok(url, victim.adminKey, `query($g: ID!) { node(id: $g) { ... on Garment { archived } } }`, { g: victim.garment });
    expect(v.node).toEqual({ archived: false });
  });

  test('row-level security: no tenant set reads no rows', async () => {
    const counts = await server.db.withoutTenant(async (tx) => [
      await tx.tenant.count(),
      await tx.garment.count(),
      await tx.apiKey.count(),
      await tx.shopper.count(),
      await tx.personPhoto.count(),
      await tx.outfit.count(),
      await tx.outfitItem.count(),
      await tx.referenceCache.count(),
    ]);
    expect(counts).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const all = await server.db.withSystem((tx) => tx.garment.count());
    expect(all).toBe(2);
  });

  test('row-level security: a tenant cannot read or write another tenant\'s rows', async () => {
    const tenants = await server.db.withSystem((tx) => tx.tenant.findMany({ orderBy: { createdAt: 'asc' } }));
    const [a, b] = tenants;
    const seenByA = await server.db.withTenant(a!.id, (tx) => tx.garment.findMany());
    expect(seenByA.every((g) => g.tenantId === a!.id)).toBe(true);
    expect(seenByA).toHaveLength(1);
    await expect(
      server.db.withTenant(a!.id, (tx) =>
        tx.shopper.create({ data: { id: randomUUID(), tenantId: b!.id, externalId: 'intruder' } }),
      ),
    ).rejects.toThrow(/row-level security|violates/i);
    const updated = await server.db.withTenant(a!.id, (tx) => tx.garment.updateMany({ where: { tenantId: b!.id }, data: { archived: true } }));
    expect(updated.count).toBe(0);
  });
});
