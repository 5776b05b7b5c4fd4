// Words the pages show for the API's enums and numbers.
import type { GarmentCategory } from '../generated/graphql';

export const CATEGORIES: readonly GarmentCategory[] = ['TOP', 'BOTTOM', 'DRESS', 'SHOES', 'BAG'];

export const CATEGORY_LABEL: Record<GarmentCategory, string> = {
  TOP: 'Top',
  BOTTOM: 'Bottom',
  DRESS: 'Dress',
  SHOES: 'Shoes',
  BAG: 'Bag',
};

export const CATEGORY_PLURAL: Record<GarmentCategory, string> = {
  TOP: 'Tops',
  BOTTOM: 'Bottoms',
  DRESS: 'Dresses',
  SHOES: 'Shoes',
  BAG: 'Bags',
};

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}
