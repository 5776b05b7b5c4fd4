// A minimal GraphQL-over-HTTP client for tests, and helpers that set up tenants.
import sharp from 'sharp';
import type { AnswerData } from './answers';

export interface GraphQLResponse<T = AnswerData> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

export async function gql<T = AnswerData>(
  baseUrl: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    // A request never hangs a test: a server that stops answering fails it.
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: res.status, ...body };
}

/** Data of a response that must have no errors. */
export async function ok<T = AnswerData>(
  baseUrl: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await gql<T>(baseUrl, token, query, variables);
  if (response.errors) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}

export const OPERATOR = 'test-operator-token-0123456789';

export async function createTenant(
  baseUrl: string,
  name = 'Tenant',
  maxConcurrentRenders?: number,
): Promise<{ id: string; adminKey: string }> {
  const data = await ok(
    baseUrl,
    OPERATOR,
    `mutation($n: String!, $m: Int) { createTenant(input: { name: $n, maxConcurrentRenders: $m }) { tenant { id } apiKey userErrors { code } } }`,
    { n: name, m: maxConcurrentRenders ?? null },
  );
  return { id: data.createTenant.tenant.id, adminKey: data.createTenant.apiKey };
}

export async function createApiKey(baseUrl: string, adminKey: string, scopes: string[]): Promise<string> {
  const data = await ok(
    baseUrl,
    adminKey,
    `mutation($s: [ApiScope!]!) { createApiKey(input: { name: "k", scopes: $s }) { secret userErrors { code } } }`,
    { s: scopes },
  );
  return data.createApiKey.secret;
}

export async function pngDataUrl(width = 96, height = 128, color = '#3366cc'): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export const CREATE_GARMENT = `mutation($i: CreateGarmentInput!) {
  createGarment(input: $i) { garment { id sku name category archived image { url width height contentType } referenceCache { status model } } userErrors { code field message } }
}`;

export async function createGarment(baseUrl: string, key: string, sku: string, category: string, image?: string): Promise<string> {
  const data = await ok(baseUrl, key, CREATE_GARMENT, {
    i: { sku, name: `Garment ${sku}`, category, image: { dataUrl: image ?? (await pngDataUrl()) } },
  });
  if (data.createGarment.userErrors.length) throw new Error(JSON.stringify(data.createGarment.userErrors));
  return data.createGarment.garment.id;
}

/** Uploads a person photo (the tenant's own, no shopper) and returns its id; a refusal throws. */
export async function uploadPersonPhoto(baseUrl: string, key: string, dataUrl: string): Promise<string> {
  const data = await ok(
    baseUrl,
    key,
    `mutation($d: String!) { uploadPersonPhoto(input: { image: { dataUrl: $d } }) { personPhoto { id } userErrors { code message } } }`,
    { d: dataUrl },
  );
  if (!data.uploadPersonPhoto.personPhoto) throw new Error(JSON.stringify(data.uploadPersonPhoto.userErrors));
  return data.uploadPersonPhoto.personPhoto.id;
}

/** Creates an outfit of these garments and returns its id; a refusal throws. */
export async function createOutfit(baseUrl: string, key: string, garmentIds: string[], name = 'look'): Promise<string> {
  const data = await ok(
    baseUrl,
    key,
    `mutation($n: String!, $g: [ID!]!) { createOutfit(input: { name: $n, garmentIds: $g }) { outfit { id } userErrors { code message } } }`,
    { n: name, g: garmentIds },
  );
  if (!data.createOutfit.outfit) throw new Error(JSON.stringify(data.createOutfit.userErrors));
  return data.createOutfit.outfit.id;
}

export async function createShopperSession(
  baseUrl: string,
  adminKey: string,
  externalId: string,
): Promise<{ shopperId: string; token: string }> {
  const s = await ok(
    baseUrl,
    adminKey,
    `mutation($e: String!) { createShopper(input: { externalId: $e }) { shopper { id } userErrors { code } } }`,
    { e: externalId },
  );
  const shopperId = s.createShopper.shopper.id;
  const t = await ok(
    baseUrl,
    adminKey,
    `mutation($id: ID!) { createShopperSession(shopperId: $id) { token expiresAt userErrors { code } } }`,
    { id: shopperId },
  );
  return { shopperId, token: t.createShopperSession.token };
}
