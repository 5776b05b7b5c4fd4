// The sample images of the model package (models/<name>/samples/index.json) that the demo
// tenant is made of: garments by category and person photos, as data URLs for the services.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GarmentCategory } from '../garments/garment-types';

export interface DemoSamples {
  garments: { sku: string; name: string; category: GarmentCategory; dataUrl: string }[];
  persons: { dataUrl: string }[];
}

const CATEGORIES: readonly GarmentCategory[] = ['TOP', 'BOTTOM', 'DRESS', 'SHOES', 'BAG'];
const LABELS: Record<GarmentCategory, string> = { TOP: 'top', BOTTOM: 'bottom', DRESS: 'dress', SHOES: 'shoes', BAG: 'bag' };

function dataUrl(path: string): string {
  return `data:image/png;base64,${readFileSync(path).toString('base64')}`;
}

/** The samples under `samplesDir`, or null when the model package has none. */
export function readDemoSamples(samplesDir: string): DemoSamples | null {
  const indexPath = join(samplesDir, 'index.json');
  if (!existsSync(indexPath)) return null;
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as {
    persons?: { image: string }[];
    garments?: { category: string; image: string }[];
  };
  const counts = new Map<GarmentCategory, number>();
  const garments = (index.garments ?? [])
    .filter((g): g is { category: GarmentCategory; image: string } => CATEGORIES.includes(g.category as GarmentCategory))
    .map((g) => {
      const n = (counts.get(g.category) ?? 0) + 1;
      counts.set(g.category, n);
      return {
        sku: `DEMO-${g.category}-${n}`,
        name: `Sample ${LABELS[g.category]} ${n}`,
        category: g.category,
        dataUrl: dataUrl(join(samplesDir, g.image)),
      };
    });
  const persons = (index.persons ?? []).map((p) => ({ dataUrl: dataUrl(join(samplesDir, p.image)) }));
  return { garments, persons };
}
