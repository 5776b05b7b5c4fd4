// The shoppers domain's types: what repositories return, services pass on and resolvers receive
// as parents (codegen.ts "mappers"). A database row is assignable to them as it is.

export interface Shopper {
  id: string;
  tenantId: string;
  /** The tenant's own id for the shopper. */
  externalId: string;
  createdAt: Date;
}
