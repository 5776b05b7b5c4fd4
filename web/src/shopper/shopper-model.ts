// What the shopper page works with: the API's photos, garments and past renders, the render shown
// in the try-on area, and where a message about a failed action is shown.
import type { PastRendersQuery, RenderStatus, ShopperGarmentsQuery, ShopperHomeQuery } from '../generated/graphql';
import { CATEGORIES } from '../common/labels';

export type Photo = ShopperHomeQuery['personPhotos']['edges'][number]['node'];
export type Garment = ShopperGarmentsQuery['garments']['edges'][number]['node'];
export type PastRender = PastRendersQuery['renders']['edges'][number]['node'];

/** The render shown in the try-on area: live while it runs, or one picked from the past. */
export interface Shown {
  renderId: string;
  status: RenderStatus;
  step: number;
  totalSteps: number;
  originalUrl: string;
  previewUrl: string | null;
  resultUrl: string | null;
  error: string | null;
  outfitLabel: string;
}

/** The page's sections: an error is shown in the one where the shopper acted. */
export type Section = 'page' | 'photo' | 'outfit' | 'try-on';

export interface SectionError {
  section: Section;
  text: string;
}

/** How a part of the page reports: the live notice (announced), and errors by section. */
export interface Feedback {
  setNotice(text: string): void;
  setError(error: SectionError | null): void;
}

export const TERMINAL: readonly RenderStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];

/** By category, then by name ("Sample top 2" before "Sample top 10"). */
export function byShelf(a: Garment, b: Garment): number {
  return CATEGORIES.indexOf(a.category) - CATEGORIES.indexOf(b.category) || a.name.localeCompare(b.name, undefined, { numeric: true });
}

/** A render's error as the page shows it: "message (CODE)". */
export function describeRenderError(error: { message: string; code: string } | null | undefined): string | null {
  return error ? `${error.message} (${error.code})` : null;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
