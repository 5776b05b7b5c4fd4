// Tenants, API keys, shopper sessions and the authorization rules, over real HTTP.
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { OPERATOR, createApiKey, createShopperSession, createTenant, gql, ok } from '../support/graphql-client';

describe.each(databaseKinds())('tenants and auth on %s', (kind) => {
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    server = await startTestServer(kind);
    url = server.url;
  });
  afterAll(() => server.stop());

  test('createTenant needs the operator token', async () => {
    const anonymous = await gql(url, null, `mutation { createTenant(input: { name: "x" }) { tenant { id } } }`);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const { adminKey } = await createTenant(url, 'Acme');
    const asTenant = await gql(url, adminKey, `mutation { createTenant(input: { name: "x" }) { tenant { id } } }`);
    expect(asTenant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('createTenant returns the tenant with defaults and a working ADMIN key', async () => {
    const data = await ok(
      url,
      OPERATOR,
      `mutation { createTenant(input: { name: " Shop " }) {
      tenant { id name maxConcurrentRenders resultRetentionHours } apiKey userErrors { code } } }`,
    );
    expect(data.createTenant.tenant).toMatchObject({ name: 'Shop', maxConcurrentRenders: 4, resultRetentionHours: 72 });
    const me = await ok(url, data.createTenant.apiKey, `{ tenant { id name } }`);
    expect(me.tenant).toEqual({ id: data.createTenant.tenant.id, name: 'Shop' });
  });

  test('createTenant userErrors: empty name, out-of-range limits', async () => {
    const data = await ok(
      url,
      OPERATOR,
      `mutation { createTenant(input: { name: "  ", maxConcurrentRenders: 0, resultRetentionHours: 100000 }) {
      tenant { id } apiKey userErrors { code field } } }`,
    );
    expect(data.createTenant.tenant).toBeNull();
    expect(data.createTenant.apiKey).toBeNull();
    expect(data.createTenant.userErrors).toEqual([
      { code: 'NAME_REQUIRED', field: ['input', 'name'] },
      { code: 'OUT_OF_RANGE', field: ['input', 'maxConcurrentRenders'] },
      { code: 'OUT_OF_RANGE', field: ['input', 'resultRetentionHours'] },
    ]);
  });

  test('invalid, malformed and revoked tokens are UNAUTHENTICATED', async () => {
    const { adminKey } = await createTenant(url);
    for (const token of [
      'nope',
      'atk_' + 'A'.repeat(73),
      adminKey.slice(0, -1) + (adminKey.endsWith('A') ? 'B' : 'A'),
      'ats_e30.' + 'x'.repeat(43),
    ]) {
      const r = await gql(url, token, `{ tenant { id } }`);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.status).toBe(401);
    }
    const created = await ok(
      url,
      adminKey,
      `mutation { createApiKey(input: { name: "ci", scopes: [CATALOG_READ] }) { apiKey { id prefix scopes revokedAt } secret userErrors { code } } }`,
    );
    const { apiKey, secret } = created.createApiKey;
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.scopes).toEqual(['CATALOG_READ']);
    await ok(url, secret, `{ tenant { id } }`);
    const revoked = await ok(
      url,
      adminKey,
      `mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id revokedAt } userErrors { code } } }`,
      { id: apiKey.id },
    );
    expect(revoked.revokeApiKey.apiKey.revokedAt).not.toBeNull();
    const after = await gql(url, secret, `{ tenant { id } }`);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('secrets are stored hashed: the database never holds the key', async () => {
    const { adminKey } = await createTenant(url);
    const secret = await createApiKey(url, adminKey, ['ADMIN']);
    const rows = await server.db.withSystem((tx) => tx.apiKey.findMany());
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(adminKey);
    expect(stored).not.toContain(secret.slice(30));
  });

  test('createApiKey and revokeApiKey userErrors', async () => {
    const { adminKey } = await createTenant(url);
    const bad = await ok(
      url,
      adminKey,
      `mutation { createApiKey(input: { name: "", scopes: [] }) { apiKey { id } secret userErrors { code field } } }`,
    );
    expect(bad.createApiKey.userErrors.map((e: { code: string }) => e.code)).toEqual(['NAME_REQUIRED', 'SCOPES_REQUIRED']);
    expect(bad.createApiKey.secret).toBeNull();
    const missing = await ok(url, adminKey, `mutation { revokeApiKey(id: "not-an-id") { apiKey { id } userErrors { code field } } }`);
    expect(missing.revokeApiKey.userErrors).toEqual([{ code: 'NOT_FOUND', field: ['id'] }]);
  });

  test('scopes: each key does what its scopes allow and nothing more', async () => {
    const { adminKey } = await createTenant(url);
    const read = await createApiKey(url, adminKey, ['CATALOG_READ']);
    const catalog = await createApiKey(url, adminKey, ['CATALOG_WRITE']);
    const renders = await createApiKey(url, adminKey, ['RENDERS_WRITE']);
    const createGarment = `mutation { createGarment(input: { sku: "s", name: "n", category: TOP, image: { dataUrl: "data:image/png;base64,AAAA" } }) { userErrors { code } } }`;
    const createShopper = `mutation { createShopper(input: { externalId: "e" }) { userErrors { code } } }`;
    const createKey = `mutation { createApiKey(input: { name: "n", scopes: [ADMIN] }) { userErrors { code } } }`;
    const createOutfit = `mutation { createOutfit(input: { name: "n", garmentIds: [] }) { userErrors { code } } }`;
    const expectCode = async (token: string, query: string, code: string | null) => {
      const r = await gql(url, token, query);
      expect(r.errors?.[0]?.extensions?.code ?? null).toBe(code);
    };
    await expectCode(read, `{ garments { totalCount } }`, null);
    await expectCode(read, createGarment, 'FORBIDDEN');
    await expectCode(read, createOutfit, 'FORBIDDEN');
    await expectCode(read, createShopper, 'FORBIDDEN');
    await expectCode(catalog, createGarment, null);
    await expectCode(catalog, createOutfit, 'FORBIDDEN');
    await expectCode(renders, createOutfit, null);
    await expectCode(renders, createGarment, 'FORBIDDEN');
    await expectCode(renders, createKey, 'FORBIDDEN');
    await expectCode(renders, `{ apiKeys { totalCount } }`, 'FORBIDDEN');
    await expectCode(adminKey, createShopper, null);
    await expectCode(adminKey, `{ apiKeys { totalCount } }`, null);
  });

  test('shopper sessions act only for their shopper', async () => {
    const { adminKey } = await createTenant(url);
    const alice = await createShopperSession(url, adminKey, 'alice');
    const bob = await createShopperSession(url, adminKey, 'bob');
    // reads the catalog, cannot write it or manage keys and shoppers
    expect((await gql(url, alice.token, `{ garments { totalCount } tenant { id } }`)).errors).toBeUndefined();
    for (const query of [
      `mutation { createGarment(input: { sku: "s", name: "n", category: TOP, image: { dataUrl: "x" } }) { userErrors { code } } }`,
      `mutation { createShopper(input: { externalId: "e" }) { userErrors { code } } }`,
      `{ apiKeys { totalCount } }`,
      `{ shoppers { totalCount } }`,
    ]) {
      expect((await gql(url, alice.token, query)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    // sees itself, not another shopper
    const self = await ok(url, alice.token, `query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }`, {
      a: alice.shopperId,
      b: bob.shopperId,
    });
    expect(self).toEqual({ a: { id: alice.shopperId }, b: null });
  });

  test('createShopper and createShopperSession userErrors', async () => {
    const { adminKey } = await createTenant(url);
    await ok(url, adminKey, `mutation { createShopper(input: { externalId: "dup" }) { userErrors { code } } }`);
    const dup = await ok(
      url,
      adminKey,
      `mutation { createShopper(input: { externalId: "dup" }) { shopper { id } userErrors { code field } } }`,
    );
    expect(dup.createShopper).toEqual({ shopper: null, userErrors: [{ code: 'EXTERNAL_ID_TAKEN', field: ['input', 'externalId'] }] });
    const empty = await ok(url, adminKey, `mutation { createShopper(input: { externalId: " " }) { userErrors { code } } }`);
    expect(empty.createShopper.userErrors[0]!.code).toBe('EXTERNAL_ID_REQUIRED');
    const noSuch = await ok(
      url,
      adminKey,
      `mutation { createShopperSession(shopperId: "U2hvcHBlcjowMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDA") { token userErrors { code } } }`,
    );
    expect(noSuch.createShopperSession).toEqual({ token: null, userErrors: [{ code: 'NOT_FOUND' }] });
  });

  test('an expired or tampered shopper token is refused', async () => {
    const { adminKey } = await createTenant(url);
    const { token } = await createShopperSession(url, adminKey, 'carol');
    const [payload, sig] = token.slice(4).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `ats_${Buffer.from(JSON.stringify({ ...claims, e: claims.e + 3600 })).toString('base64url')}.${sig}`;
    expect((await gql(url, forged, `{ tenant { id } }`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
