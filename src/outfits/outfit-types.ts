// The outfits domain's types: what repositories return, services pass on and resolvers receive
// as parents (codegen.ts "mappers"). A database row is assignable to them as it is.
import type { GarmentCategory } from '../garments/garment-types';

export type { GarmentCategory };

export interface Outfit {
  id: string;
  tenantId: string;
  shopperId: string | null;
  name: string;
  createdAt: Date;
}

/** One garment of an outfit, in the outfit's order. */
export interface OutfitItem {
  outfitId: string;
  garmentId: string;
  tenantId: string;
  category: GarmentCategory;
  position: number;
}
