// Section 2: the catalog by category; a garment is added to the outfit (or removed) by pressing it.
import { useState } from 'react';
import type { GarmentCategory } from '../generated/graphql';
import { CATEGORIES, CATEGORY_LABEL, CATEGORY_PLURAL } from '../common/labels';
import type { Outfit } from './use-outfit';
import type { Garment } from './shopper-model';

interface GarmentShelfProps {
  loaded: boolean;
  garments: Garment[];
  outfit: Outfit;
  /** Shows the next page of garments; absent when there is none. */
  showMore: (() => void) | null;
}

export function GarmentShelf({ loaded, garments, outfit, showMore }: GarmentShelfProps) {
  const [filter, setFilter] = useState<GarmentCategory | 'ALL'>('ALL');
  const visible = garments.filter((g) => filter === 'ALL' || g.category === filter);
  return (
    <section aria-labelledby="catalog-heading" className="panel">
      <h2 id="catalog-heading">2. Choose garments</h2>
      <div className="tabs" role="group" aria-label="Category">
        {(['ALL', ...CATEGORIES] as const).map((c) => (
          <button key={c} type="button" aria-pressed={filter === c} onClick={() => setFilter(c)}>
            {c === 'ALL' ? 'All' : CATEGORY_PLURAL[c]}
          </button>
        ))}
      </div>
      <div className="garment-grid">
        {visible.map((g) => (
          <button
            key={g.id}
            type="button"
            className="tile garment"
            aria-pressed={outfit.chosen[g.category]?.id === g.id}
            onClick={() => outfit.toggle(g)}
            data-sku={g.sku}
          >
            <img
              src={g.image.url}
              alt={`${g.name}, ${CATEGORY_LABEL[g.category].toLowerCase()}`}
              width={g.image.width}
              height={g.image.height}
            />
            <span>{g.name}</span>
          </button>
        ))}
      </div>
      {loaded && visible.length === 0 && <p>No garments in this category yet.</p>}
      {showMore && (
        <button type="button" onClick={showMore}>
          Show more garments
        </button>
      )}
    </section>
  );
}
