// Who is calling: the principal every service authorizes against. Built once per HTTP
// request or graphql-ws operation (authenticator.ts), passed explicitly to services.
import type { ApiScope } from '../tenants/tenant-types';

export type Viewer =
  | { kind: 'anonymous' }
  | { kind: 'operator' }
  | { kind: 'apiKey'; tenantId: string; apiKeyId: string; scopes: readonly ApiScope[] }
  | { kind: 'shopper'; tenantId: string; shopperId: string; expiresAt: Date };

export type TenantViewer = Extract<Viewer, { kind: 'apiKey' | 'shopper' }>;

/** NOT_FOUND: what an operation that needs an existing object (a subscription) answers for a missing or foreign one. */
export const AUTH_ERROR_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND'] as const;
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/** A refused request (no/invalid token, missing scope). Mapped to a GraphQL error with extensions.code. */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** The viewer's tenant; throws UNAUTHENTICATED for anonymous or operator callers. */
export function requireTenant(viewer: Viewer): TenantViewer {
  if (viewer.kind === 'apiKey' || viewer.kind === 'shopper') return viewer;
  if (viewer.kind === 'operator') throw new AuthError('FORBIDDEN', 'the operator token only creates tenants; use a tenant API key');
  throw new AuthError('UNAUTHENTICATED', 'missing or invalid token: send Authorization: Bearer <token>');
}

/**
 * Scopes a granted scope includes: ADMIN includes all; writing the catalog or renders includes
 * reading them; reading renders (their outfits' garments) includes reading the catalog.
 */
const INCLUDED: Record<ApiScope, readonly ApiScope[]> = {
  ADMIN: ['ADMIN', 'CATALOG_READ', 'CATALOG_WRITE', 'RENDERS_READ', 'RENDERS_WRITE'],
  CATALOG_WRITE: ['CATALOG_WRITE', 'CATALOG_READ'],
  RENDERS_WRITE: ['RENDERS_WRITE', 'RENDERS_READ', 'CATALOG_READ'],
  RENDERS_READ: ['RENDERS_READ', 'CATALOG_READ'],
  CATALOG_READ: ['CATALOG_READ'],
};

export function hasScope(viewer: TenantViewer, scope: ApiScope): boolean {
  return viewer.kind === 'apiKey' && viewer.scopes.some((granted) => INCLUDED[granted].includes(scope));
}

/** For API keys: requires `scope`. Shopper sessions pass only when `shopperAllowed`. */
export function requireScope(viewer: Viewer, scope: ApiScope, shopperAllowed = false): TenantViewer {
  const tenantViewer = requireTenant(viewer);
  if (tenantViewer.kind === 'shopper') {
    if (shopperAllowed) return tenantViewer;
    throw new AuthError('FORBIDDEN', 'a shopper session cannot do this; use a tenant API key');
  }
  if (!hasScope(tenantViewer, scope)) throw new AuthError('FORBIDDEN', `this API key lacks the ${scope} scope`);
  return tenantViewer;
}

/** The shopper a viewer is limited to (null for API keys, which see the whole tenant). */
export function shopperScope(viewer: TenantViewer): string | null {
  return viewer.kind === 'shopper' ? viewer.shopperId : null;
}

/**
 * Reading shopper data (person photos, outfits, renders): RENDERS_READ for API keys
 * (RENDERS_WRITE and ADMIN include it); a shopper session passes, and the services then
 * limit it to its own (shopperScope). Throws FORBIDDEN otherwise.
 */
export function requireShopperDataReader(viewer: Viewer): TenantViewer {
  return requireScope(viewer, 'RENDERS_READ', true);
}

/**
 * Reading Shopper objects (their externalId), wherever they appear: ADMIN for API keys; a
 * shopper session passes, and sees only itself. Throws FORBIDDEN otherwise.
 */
export function requireShopperReader(viewer: Viewer): TenantViewer {
  return requireScope(viewer, 'ADMIN', true);
}
