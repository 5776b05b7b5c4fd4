// The shopper's past renders; pressing one shows it in the try-on area.
import { formatTime } from '../common/labels';
import type { PastRender } from './shopper-model';

export function PastTryOns({ history, showPast }: { history: PastRender[]; showPast(render: PastRender): void }) {
  return (
    <section aria-labelledby="history-heading" className="panel">
      <h2 id="history-heading">Past try-ons</h2>
      {history.length === 0 ? (
        <p>Your try-ons will appear here.</p>
      ) : (
        <ul className="history">
          {history.map((r) => (
            <li key={r.id}>
              <button
                type="button"
                className="tile"
                onClick={() => showPast(r)}
                aria-label={`Show try-on ${r.outfit.name} from ${formatTime(r.createdAt)}`}
              >
                {r.result ? (
                  <img src={r.result.url} alt={`Try-on: ${r.outfit.name}`} />
                ) : (
                  <span className="status">{r.status.toLowerCase()}</span>
                )}
                <span className="caption">{r.outfit.name}</span>
                <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
