// Tenants never see each other's data: every field that takes an ID (found in the schema),
// and node(id:) for every Node type (found in the schema), given another tenant's ID,
// answers exactly as for an ID that does not exist; and PostgreSQL's row-level security
// enforces the same underneath the application.
import { readFileSync } from 'node:fs';
import { buildSchema, getNamedType, isInputObjectType, isInterfaceType, type GraphQLField, type GraphQLInputType } from 'graphql';
import { randomUUID } from 'node:crypto';
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createShopperSession, ok, OPERATOR, pngDataUrl, uploadPersonPhoto, createOutfit } from '../support/graphql-client';
import { toGlobalId, type NodeType } from '../../src/common/ids';
import { schemaPath } from '../../src/common/project-paths';
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
  upload: string;
  /** One ID of every Node type of the schema, by type name. */
  nodes: Record<string, string>;
  /** False for the world of IDs that do not exist (no rows to check afterwards). */
  real: boolean;
}

const uuidOf = (id: string) => Buffer.from(id, 'base64url').toString().split(':')[1]!;

async function makeWorld(server: TestServer, name: string): Promise<World> {
  const url = server.url;
  const created = await ok(url, OPERATOR, `mutation($n: String!) { createTenant(input: { name: $n }) { tenant { id } apiKey } }`, {
    n: name,
  });
  const tenant = created.createTenant.tenant.id;
  const adminKey = created.createTenant.apiKey;
  const garment = await createGarment(url, adminKey, 'SKU', 'TOP');
  const { shopperId: shopper } = await createShopperSession(url, adminKey, 'ext');
  const photo = await uploadPersonPhoto(url, adminKey, await pngDataUrl());
  const outfit = await createOutfit(url, adminKey, [garment], 'o');
  const apiKey = (await ok(url, adminKey, `mutation { createApiKey(input: { name: "k", scopes: [CATALOG_READ] }) { apiKey { id } } }`))
    .createApiKey.apiKey.id;
  const render = (
    await ok(
      url,
      adminKey,
      `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p }) { render { id } userErrors { code } } }`,
      { o: outfit, p: photo },
    )
  ).requestRender.render.id;
  const webhook = (
    await ok(
      url,
      adminKey,
      `mutation { addWebhookEndpoint(input: { url: "https://hooks.example.com/hook", events: [RENDER_SUCCEEDED] }) { endpoint { id } userErrors { code } } }`,
    )
  ).addWebhookEndpoint.endpoint.id;
  const upload = (await ok(url, adminKey, `mutation { createUpload(input: { contentType: "image/png", byteSize: 100 }) { uploadId } }`))
    .createUpload.uploadId;
  // A delivery is recorded by the real notification path (nobody delivers it: no worker runs).
  await server.services.webhooks.notify(uuidOf(tenant), 'RENDER_SUCCEEDED', { renderId: render });
  const delivery = (await ok(url, adminKey, `{ webhookDeliveries { edges { node { id } } } }`)).webhookDeliveries.edges[0]!.node.id;
  const nodes = {
    Tenant: tenant,
    Garment: garment,
    Shopper: shopper,
    PersonPhoto: photo,
    Outfit: outfit,
    ApiKey: apiKey,
    Render: render,
    WebhookEndpoint: webhook,
    WebhookDelivery: delivery,
  };
  return { adminKey, garment, shopper, photo, outfit, apiKey, render, webhook, upload, nodes, real: true };
}

/** The same shape as a real world, every ID of the right type but of no row at all. */
function ghostWorld(of: World): World {
  const missing = (id: string) => toGlobalId(Buffer.from(id, 'base64url').toString().split(':')[0] as NodeType, randomUUID());
  const nodes = Object.fromEntries(Object.entries(of.nodes).map(([type, id]) => [type, missing(id)]));
  return {
    adminKey: of.adminKey,
    garment: missing(of.garment),
    shopper: missing(of.shopper),
    photo: missing(of.photo),
    outfit: missing(of.outfit),
    apiKey: missing(of.apiKey),
    render: missing(of.render),
    webhook: missing(of.webhook),
    upload: missing(of.upload),
    nodes,
    real: false,
  };
}

/** Every type of the schema that implements Node. */
function nodeTypes(): string[] {
  const schema = buildSchema(readFileSync(schemaPath, 'utf8'));
  const node = schema.getType('Node');
  if (!node || !isInterfaceType(node)) return [];
  return schema
    .getPossibleTypes(node)
    .map((t) => t.name)
    .sort();
}

/** Every "Type.field(arg)" or "Type.field(input.x)" of the schema whose argument is an ID. */
function idArguments(): string[] {
  const schema = buildSchema(readFileSync(schemaPath, 'utf8'));
  const found: string[] = [];
  const visitInput = (field: string, path: string, type: GraphQLInputType, seen: Set<string>) => {
    const named = getNamedType(type);
    if (named.name === 'ID') found.push(`${field}(${path})`);
    if (isInputObjectType(named) && !seen.has(named.name)) {
      for (const inner of Object.values(named.getFields()))
        visitInput(field, `${path}.${inner.name}`, inner.type, new Set([...seen, named.name]));
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

/**
 * A probe sends one request with the victim's ID (or, for comparison, an ID that exists
 * nowhere), checks that it was refused as not found, and returns what the client saw: the
 * two answers must be identical.
 */
type Probe = (url: string, attacker: World, victim: World) => Promise<unknown>;

function notFound<T extends { userErrors: { code: string }[] }>(payload: T, code = 'NOT_FOUND'): T {
  expect(payload.userErrors.map((e) => e.code)).toContain(code);
  return payload;
}

/** One probe per ID argument; a new ID argument without a probe fails the test below. */
const probes: Record<string, Probe> = {
  'Query.node(id)': async (url, a, v) => {
    const seen: Record<string, unknown> = {};
    for (const [type, id] of Object.entries(v.nodes)) {
      const data = await ok(url, a.adminKey, `query($id: ID!) { node(id: $id) { id ... on ${type} { __typename } } }`, { id });
      expect(data.node).toBeNull();
      seen[type] = data;
    }
    return seen;
  },
  'Mutation.archiveGarment(id)': async (url, a, v) =>
    notFound(
      (
        await ok(url, a.adminKey, `mutation($id: ID!) { archiveGarment(id: $id) { garment { id } userErrors { code field message } } }`, {
          id: v.garment,
        })
      ).archiveGarment,
    ),
  'Mutation.createShopperSession(shopperId)': async (url, a, v) => {
    const r = (
      await ok(
        url,
        a.adminKey,
        `mutation($id: ID!) { createShopperSession(shopperId: $id) { token expiresAt userErrors { code field message } } }`,
        { id: v.shopper },
      )
    ).createShopperSession;
    expect(r.token).toBeNull();
    return notFound(r);
  },
  'Mutation.revokeApiKey(id)': async (url, a, v) =>
    notFound(
      (
        await ok(url, a.adminKey, `mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } userErrors { code field message } } }`, {
          id: v.apiKey,
        })
      ).revokeApiKey,
    ),
  'Mutation.createOutfit(input.garmentIds)': async (url, a, v) =>
    notFound(
      (
        await ok(
          url,
          a.adminKey,
          `mutation($g: ID!) { createOutfit(input: { name: "x", garmentIds: [$g] }) { outfit { id } userErrors { code field message } } }`,
          { g: v.garment },
        )
      ).createOutfit,
      'GARMENT_NOT_FOUND',
    ),
  'Mutation.createOutfit(input.shopperId)': async (url, a, v) =>
    notFound(
      (
        await ok(
          url,
          a.adminKey,
          `mutation($g: ID!, $s: ID!) { createOutfit(input: { name: "x", garmentIds: [$g], shopperId: $s }) { outfit { id } userErrors { code field message } } }`,
          { g: a.garment, s: v.shopper },
        )
      ).createOutfit,
    ),
  'Mutation.uploadPersonPhoto(input.shopperId)': async (url, a, v) =>
    notFound(
      (
        await ok(
          url,
          a.adminKey,
          `mutation($d: String!, $s: ID!) { uploadPersonPhoto(input: { image: { dataUrl: $d }, shopperId: $s }) { personPhoto { id } userErrors { code field message } } }`,
          { d: await pngDataUrl(), s: v.shopper },
        )
      ).uploadPersonPhoto,
    ),
  'Mutation.uploadPersonPhoto(input.image.uploadId)': async (url, a, v) =>
    notFound(
      (
        await ok(
          url,
          a.adminKey,
          `mutation($u: ID!) { uploadPersonPhoto(input: { image: { uploadId: $u } }) { personPhoto { id } userErrors { code field message } } }`,
          { u: v.upload },
        )
      ).uploadPersonPhoto,
    ),
  'Mutation.createGarment(input.image.uploadId)': async (url, a, v) =>
    notFound(
      (
        await ok(
          url,
          a.adminKey,
          `mutation($u: ID!) { createGarment(input: { sku: "u", name: "u", category: TOP, image: { uploadId: $u } }) { garment { id } userErrors { code field message } } }`,
          { u: v.upload },
        )
      ).createGarment,
    ),
  'Mutation.deletePersonPhoto(id)': async (url, a, v) => {
    const r = (
      await ok(
        url,
        a.adminKey,
        `mutation($id: ID!) { deletePersonPhoto(id: $id) { deletedPersonPhotoId userErrors { code field message } } }`,
        { id: v.photo },
      )
    ).deletePersonPhoto;
    expect(r.deletedPersonPhotoId).toBeNull();
    notFound(r);
    if (v.real)
      expect((await ok(url, v.adminKey, `query($id: ID!) { node(id: $id) { id } }`, { id: v.photo })).node).toEqual({ id: v.photo });
    return r;
  },
  'Mutation.requestRender(input.outfitId)': async (url, a, v) => {
    const r = (
      await ok(
        url,
        a.adminKey,
        `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p }) { render { id } userErrors { code field message } } }`,
        { o: v.outfit, p: a.photo },
      )
    ).requestRender;
    expect(r.render).toBeNull();
    return notFound(r);
  },
  'Mutation.requestRender(input.personPhotoId)': async (url, a, v) => {
    const r = (
      await ok(
        url,
        a.adminKey,
        `mutation($o: ID!, $p: ID!) { requestRender(input: { outfitId: $o, personPhotoId: $p }) { render { id } userErrors { code field message } } }`,
        { o: a.outfit, p: v.photo },
      )
    ).requestRender;
    expect(r.render).toBeNull();
    return notFound(r);
  },
  'Mutation.cancelRender(id)': async (url, a, v) => {
    const r = (
      await ok(url, a.adminKey, `mutation($id: ID!) { cancelRender(id: $id) { render { id } userErrors { code field message } } }`, {
        id: v.render,
      })
    ).cancelRender;
    expect(r.render).toBeNull();
    notFound(r);
    if (v.real) {
      const still = await ok(url, v.adminKey, `query($id: ID!) { node(id: $id) { ... on Render { status } } }`, { id: v.render });
      expect(still.node).toEqual({ status: 'QUEUED' });
    }
    return r;
  },
  'Mutation.retryReferenceCache(garmentId)': async (url, a, v) =>
    notFound(
      (
        await ok(
          url,
          a.adminKey,
          `mutation($id: ID!) { retryReferenceCache(garmentId: $id) { garment { id } userErrors { code field message } } }`,
          { id: v.garment },
        )
      ).retryReferenceCache,
    ),
  'Mutation.removeWebhookEndpoint(id)': async (url, a, v) => {
    const r = notFound(
      (
        await ok(
          url,
          a.adminKey,
          `mutation($id: ID!) { removeWebhookEndpoint(id: $id) { endpoint { id } userErrors { code field message } } }`,
          { id: v.webhook },
        )
      ).removeWebhookEndpoint,
    );
    if (v.real) expect((await ok(url, v.adminKey, `{ webhookEndpoints { totalCount } }`)).webhookEndpoints.totalCount).toBe(1);
    return r;
  },
  'Query.webhookDeliveries(endpointId)': async (url, a, v) => {
    const r = await ok(url, a.adminKey, `query($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount edges { node { id } } } }`, {
      id: v.webhook,
    });
    expect(r.webhookDeliveries.totalCount).toBe(0);
    return r;
  },
  'Subscription.renderProgress(renderId)': async (url, a, v) => {
    const result = await subscribeOnce(url, a.adminKey, `subscription($id: ID!) { renderProgress(renderId: $id) { status } }`, {
      id: v.render,
    });
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    return result;
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
    attacker = await makeWorld(server, 'Attacker');
    victim = await makeWorld(server, 'Victim');
  });
  afterAll(() => server.stop());

  test('every ID argument of the schema has an isolation probe', () => {
    expect(idArguments()).toEqual(Object.keys(probes).sort());
  });

  test('every Node type of the schema is probed through node(id:)', () => {
    expect(Object.keys(victim.nodes).sort()).toEqual(nodeTypes());
  });

  test("node(id:) finds the own tenant's node of every type (the probes are not vacuous)", async () => {
    for (const [type, id] of Object.entries(attacker.nodes)) {
      const data = await ok(url, attacker.adminKey, `query($id: ID!) { node(id: $id) { __typename id } }`, { id });
      expect(data.node).toEqual({ __typename: type, id });
    }
  });

  test.each(Object.keys(probes).sort())("%s with another tenant's ID answers exactly as with an ID that does not exist", async (name) => {
    const foreign = await probes[name]!(url, attacker, victim);
    const missing = await probes[name]!(url, attacker, ghostWorld(victim));
    expect(foreign).toEqual(missing);
  });

  test('lists show only the own tenant', async () => {
    const data = await ok(
      url,
      attacker.adminKey,
      `{ garments { totalCount } outfits { totalCount } personPhotos { totalCount } shoppers { totalCount } apiKeys { totalCount } }`,
    );
    expect(data).toEqual({
      garments: { totalCount: 1 },
      outfits: { totalCount: 1 },
      personPhotos: { totalCount: 1 },
      shoppers: { totalCount: 1 },
      apiKeys: { totalCount: 2 },
    });
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

  test("row-level security: a tenant cannot read or write another tenant's rows", async () => {
    const tenants = await server.db.withSystem((tx) => tx.tenant.findMany({ orderBy: { createdAt: 'asc' } }));
    const [a, b] = tenants;
    const seenByA = await server.db.withTenant(a!.id, (tx) => tx.garment.findMany());
    expect(seenByA.every((g) => g.tenantId === a!.id)).toBe(true);
    expect(seenByA).toHaveLength(1);
    await expect(
      server.db.withTenant(a!.id, (tx) => tx.shopper.create({ data: { id: randomUUID(), tenantId: b!.id, externalId: 'intruder' } })),
    ).rejects.toThrow(/row-level security|violates/i);
    const updated = await server.db.withTenant(a!.id, (tx) =>
      tx.garment.updateMany({ where: { tenantId: b!.id }, data: { archived: true } }),
    );
    expect(updated.count).toBe(0);
  });
});
