// "Garments": the store's garments with their reference caches (live), archived or not, and the
// actions on each (archive; retry a failed cache).
import { describeUserErrors, type ApiClient } from '../api/client';
import { archiveGarment, retryReferenceCache } from '../api/operations';
import { CATEGORY_LABEL, formatMs } from '../common/labels';
import { errorText, type Feedback, type Garment } from './catalog-model';
import type { Catalog } from './use-catalog';

interface GarmentActions {
  archive(garment: Garment): Promise<void>;
  retry(garment: Garment): Promise<void>;
}

function useGarmentActions(api: ApiClient, updateGarment: Catalog['updateGarment'], { setNotice, setError }: Feedback): GarmentActions {
  async function archive(garment: Garment) {
    const data = await api.request(archiveGarment, { id: garment.id }).catch((e: unknown) => {
      setError(errorText(e));
      return null;
    });
    if (!data) return;
    if (data.archiveGarment.garment) {
      updateGarment(garment.id, { archived: true });
      setNotice(`${garment.name} archived: shoppers no longer see it.`);
    } else setError(describeUserErrors(data.archiveGarment.userErrors));
  }

  async function retry(garment: Garment) {
    const data = await api.request(retryReferenceCache, { garmentId: garment.id }).catch(() => null);
    const updated = data?.retryReferenceCache.garment;
    if (updated) updateGarment(garment.id, { referenceCache: updated.referenceCache });
    else if (data) setError(describeUserErrors(data.retryReferenceCache.userErrors));
  }

  return { archive, retry };
}

function GarmentRow({ garment: g, actions }: { garment: Garment; actions: GarmentActions }) {
  return (
    <tr data-sku={g.sku} className={g.archived ? 'archived' : undefined}>
      <td>
        <img src={g.image.url} alt={g.name} width={48} height={64} />
      </td>
      <td>{g.name}</td>
      <td>
        <code>{g.sku}</code>
      </td>
      <td>{CATEGORY_LABEL[g.category]}</td>
      <td>
        <span className={`badge ${g.referenceCache.status.toLowerCase()}`} data-testid="cache-status">
          {g.referenceCache.status}
        </span>
        {g.referenceCache.status === 'READY' && <span className="muted"> {formatMs(g.referenceCache.computeMs)}</span>}
        {g.referenceCache.error && <span className="muted"> {g.referenceCache.error}</span>}
      </td>
      <td>
        {g.archived ? (
          <span className="muted">Archived</span>
        ) : (
          <button type="button" onClick={() => void actions.archive(g)} aria-label={`Archive ${g.name}`}>
            Archive
          </button>
        )}
        {g.referenceCache.status === 'FAILED' && (
          <button type="button" onClick={() => void actions.retry(g)} aria-label={`Retry the reference cache of ${g.name}`}>
            Retry
          </button>
        )}
      </td>
    </tr>
  );
}

export function GarmentTable({ api, catalog, feedback }: { api: ApiClient; catalog: Catalog; feedback: Feedback }) {
  const actions = useGarmentActions(api, catalog.updateGarment, feedback);
  const more = catalog.moreGarments;
  return (
    <section aria-labelledby="garments-heading" className="panel">
      <h2 id="garments-heading">Garments ({catalog.totalGarments})</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Image</th>
              <th scope="col">Name</th>
              <th scope="col">SKU</th>
              <th scope="col">Category</th>
              <th scope="col">Reference cache</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {catalog.garments.map((g) => (
              <GarmentRow key={g.id} garment={g} actions={actions} />
            ))}
          </tbody>
        </table>
      </div>
      {more && (
        <button type="button" onClick={() => void catalog.loadCatalog(more).catch((e: unknown) => feedback.setError(String(e)))}>
          Show more garments
        </button>
      )}
    </section>
  );
}
