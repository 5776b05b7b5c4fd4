// Section 3: the chosen garments, and the button that starts the try-on.
import { CATEGORY_LABEL } from '../common/labels';
import { ErrorNote } from './ErrorNote';
import type { Outfit } from './use-outfit';
import type { Photo, SectionError } from './shopper-model';

interface OutfitPanelProps {
  outfit: Outfit;
  photo: Photo | null;
  error: SectionError | null;
  /** The try-on cannot start: one is being requested or still runs. */
  busy: boolean;
  starting: boolean;
  tryOn(): void;
}

export function OutfitPanel({ outfit, photo, error, busy, starting, tryOn }: OutfitPanelProps) {
  const garments = outfit.garments;
  return (
    <section aria-labelledby="outfit-heading" className="panel">
      <h2 id="outfit-heading">3. Your outfit</h2>
      <p className="hint">One garment per category; a dress goes without a top or bottom; up to five.</p>
      {garments.length === 0 ? (
        <p>Nothing chosen yet.</p>
      ) : (
        <ul className="outfit" aria-label="Chosen garments">
          {garments.map((g) => (
            <li key={g.id}>
              <img src={g.image.url} alt="" width={48} height={64} />
              <span>
                {CATEGORY_LABEL[g.category]}: {g.name}
              </span>
              <button type="button" className="link" aria-label={`Remove ${g.name}`} onClick={() => outfit.toggle(g)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorNote error={error} section="outfit" />
      <button type="button" className="primary" disabled={!photo || garments.length === 0 || busy} onClick={tryOn}>
        {starting ? 'Starting…' : 'Try on'}
      </button>
      {(!photo || garments.length === 0) && <p className="hint">Choose a photo and at least one garment.</p>}
    </section>
  );
}
