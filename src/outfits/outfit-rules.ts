// The rules of an outfit, as a pure function: one garment per category, a DRESS excludes
// TOP and BOTTOM, at least one and at most five garments.
import type { GarmentCategory } from '../garments/garment-types';
import type { UserError } from '../common/user-errors';
import { outfitError } from './outfit-errors';

export const MAX_OUTFIT_GARMENTS = 5;

export function checkOutfitCategories(categories: readonly GarmentCategory[], field: string[]): UserError[] {
  if (categories.length === 0) return [outfitError('OUTFIT_EMPTY', 'an outfit needs at least one garment', field)];
  if (categories.length > MAX_OUTFIT_GARMENTS) {
    return [outfitError('TOO_MANY_GARMENTS', `an outfit has at most ${MAX_OUTFIT_GARMENTS} garments`, field)];
  }
  const errors: UserError[] = [];
  const seen = new Set<GarmentCategory>();
  for (const category of categories) {
    if (seen.has(category)) errors.push(outfitError('DUPLICATE_CATEGORY', `an outfit has at most one ${category} garment`, field));
    seen.add(category);
  }
  if (seen.has('DRESS') && (seen.has('TOP') || seen.has('BOTTOM'))) {
    errors.push(outfitError('DRESS_CONFLICT', 'a DRESS cannot be combined with a TOP or BOTTOM', field));
  }
  return errors;
}
