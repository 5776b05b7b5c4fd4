// The tenants domain's types: what repositories return, services pass on and resolvers receive
// as parents (codegen.ts "mappers"). A database row is assignable to them as it is.

/** What an API key may do (ADMIN includes every other scope). */
export type ApiScope = 'CATALOG_READ' | 'CATALOG_WRITE' | 'RENDERS_READ' | 'RENDERS_WRITE' | 'ADMIN';

export interface Tenant {
  id: string;
  name: string;
  maxConcurrentRenders: number;
  /** Hours a render's result is kept before it expires. */
  resultRetentionHours: number;
  createdAt: Date;
}

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  /** Hash of the secret (the secret itself is shown once, when the key is created). */
  secretHash: string;
  /** The secret's first characters, shown to tell keys apart. */
  prefix: string;
  scopes: ApiScope[];
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}
