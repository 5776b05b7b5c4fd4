// The outfit being composed: at most one garment per category (the server enforces the rest).
import { useState } from 'react';
import type { GarmentCategory } from '../generated/graphql';
import { CATEGORIES, CATEGORY_LABEL } from '../common/labels';
import type { Feedback, Garment } from './shopper-model';

export interface Outfit {
  chosen: Partial<Record<GarmentCategory, Garment>>;
  /** The chosen garments, in category order. */
  garments: Garment[];
  /** Adds a garment (replacing its category's), or removes it when it is chosen. */
  toggle(garment: Garment): void;
}

export function useOutfit({ setError, setNotice }: Feedback): Outfit {
  const [chosen, setChosen] = useState<Partial<Record<GarmentCategory, Garment>>>({});

  function toggle(garment: Garment) {
    setError(null);
    const current = chosen[garment.category];
    if (current?.id === garment.id) {
      setChosen({ ...chosen, [garment.category]: undefined });
      setNotice(`Removed ${garment.name} from the outfit.`);
      return;
    }
    // One garment per category: choosing another replaces it (the server enforces the rest).
    setChosen({ ...chosen, [garment.category]: garment });
    setNotice(
      current
        ? `Replaced ${current.name} with ${garment.name}: an outfit has one ${CATEGORY_LABEL[garment.category].toLowerCase()}.`
        : `Added ${garment.name} to the outfit.`,
    );
  }

  const garments = CATEGORIES.map((c) => chosen[c]).filter((g): g is Garment => g !== undefined);
  return { chosen, garments, toggle };
}
