// What each API scope includes, and the two readers of shopper data (auth/viewer.ts).
import { AuthError, hasScope, requireShopperDataReader, requireShopperReader, type Viewer } from '../../src/auth/viewer';
import type { ApiScope } from '../../src/generated/prisma/client';

const key = (...scopes: ApiScope[]): Viewer & { kind: 'apiKey' } => ({ kind: 'apiKey', tenantId: 't', apiKeyId: 'k', scopes });
const shopper: Viewer = { kind: 'shopper', tenantId: 't', shopperId: 's', expiresAt: new Date(Date.now() + 60_000) };
const ALL: ApiScope[] = ['CATALOG_READ', 'CATALOG_WRITE', 'RENDERS_READ', 'RENDERS_WRITE', 'ADMIN'];

test('each scope includes exactly these', () => {
  const included = Object.fromEntries(ALL.map((granted) => [granted, ALL.filter((s) => hasScope(key(granted), s))]));
  expect(included).toEqual({
    CATALOG_READ: ['CATALOG_READ'],
    CATALOG_WRITE: ['CATALOG_READ', 'CATALOG_WRITE'],
    RENDERS_READ: ['CATALOG_READ', 'RENDERS_READ'],
    RENDERS_WRITE: ['CATALOG_READ', 'RENDERS_READ', 'RENDERS_WRITE'],
    ADMIN: ALL,
  });
});

const code = (f: () => unknown): string | null => {
  try {
    f();
    return null;
  } catch (error) {
    return error instanceof AuthError ? error.code : 'other';
  }
};

test('shopper data needs RENDERS_READ, Shopper objects ADMIN; a shopper session passes both (the services limit it to its own)', () => {
  const rows = [
    ...ALL.map((s) => [s, key(s)] as const),
    ['shopper', shopper] as const,
    ['anonymous', { kind: 'anonymous' } as Viewer] as const,
  ];
  expect(
    Object.fromEntries(rows.map(([name, v]) => [name, [code(() => requireShopperDataReader(v)), code(() => requireShopperReader(v))]])),
  ).toEqual({
    CATALOG_READ: ['FORBIDDEN', 'FORBIDDEN'],
    CATALOG_WRITE: ['FORBIDDEN', 'FORBIDDEN'],
    RENDERS_READ: [null, 'FORBIDDEN'],
    RENDERS_WRITE: [null, 'FORBIDDEN'],
    ADMIN: [null, null],
    shopper: [null, null],
    anonymous: ['UNAUTHENTICATED', 'UNAUTHENTICATED'],
  });
});
