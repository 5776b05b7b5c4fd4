// What the catalog page works with: the store's garments and recent renders from the API, and the
// drafts (files waiting to become garments).
import type { CatalogQuery, GarmentCategory, RecentRendersQuery } from '../generated/graphql';

export type Garment = CatalogQuery['garments']['edges'][number]['node'];
export type RecentRender = RecentRendersQuery['renders']['edges'][number]['node'];

/** A file waiting to become a garment: the retailer names it and picks its category first. */
export interface Draft {
  id: number;
  file: File;
  previewUrl: string;
  sku: string;
  name: string;
  category: GarmentCategory;
  state: 'ready' | 'uploading' | 'failed';
  error: string | null;
}

/** How a part of the page reports: the live notice (announced), and the page's error. */
export interface Feedback {
  setNotice(text: string): void;
  setError(error: string | null): void;
}

/** A category guessed from a file name ("blue-dress.png"), else TOP. */
function guessCategory(fileName: string): GarmentCategory {
  const name = fileName.toLowerCase();
  if (/dress/.test(name)) return 'DRESS';
  if (/bottom|skirt|trouser|pant|jean|short/.test(name)) return 'BOTTOM';
  if (/shoe|sneaker|boot|sandal/.test(name)) return 'SHOES';
  if (/bag|purse|tote/.test(name)) return 'BAG';
  return 'TOP';
}

function baseName(fileName: string): string {
  return fileName.replace(/\.[^.]+$/, '');
}

/** A new draft of an image file, its SKU, name and category guessed from the file name. */
export function draftOf(file: File, id: number): Draft {
  return {
    id,
    file,
    previewUrl: URL.createObjectURL(file),
    sku: baseName(file.name)
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '-')
      .slice(0, 100),
    name: baseName(file.name).replace(/[-_]+/g, ' ').slice(0, 200),
    category: guessCategory(file.name),
    state: 'ready',
    error: null,
  };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
