// The retailer's catalog page (/catalog): sign in with an API key (kept in this tab's
// sessionStorage only), upload garments (drag and drop, several at once), watch each one's
// reference cache turn READY live (referenceCacheChanged over graphql-ws), archive garments,
// and see recent renders with their timings.
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type FormEvent, type ReactNode } from 'react';
import { ApiClient, ApiError, describeUserErrors, readAsDataUrl, type TokenSource } from '../api/client';
import { archiveGarment, catalog, createGarment, recentRenders, referenceCacheChanged, retryReferenceCache } from '../api/operations';
import type { CatalogQuery, GarmentCategory, RecentRendersQuery } from '../generated/graphql';
import { CATEGORIES, CATEGORY_LABEL, formatMs, formatTime } from '../common/labels';

type Garment = CatalogQuery['garments']['edges'][number]['node'];
type RecentRender = RecentRendersQuery['renders']['edges'][number]['node'];

const KEY_STORAGE = 'atelier.apiKey';
const RENDERS_REFRESH_MS = 5000;

/** A file waiting to become a garment: the retailer names it and picks its category first. */
interface Draft {
  id: number;
  file: File;
  previewUrl: string;
  sku: string;
  name: string;
  category: GarmentCategory;
  state: 'ready' | 'uploading' | 'failed';
  error: string | null;
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

export function CatalogPage() {
  const [apiKey, setApiKey] = useState<string | null>(() => sessionStorage.getItem(KEY_STORAGE));
  return apiKey ? (
    <CatalogWorkspace
      apiKey={apiKey}
      onSignOut={() => {
        sessionStorage.removeItem(KEY_STORAGE);
        setApiKey(null);
      }}
    />
  ) : (
    <SignIn
      onSignedIn={(key) => {
        sessionStorage.setItem(KEY_STORAGE, key);
        setApiKey(key);
      }}
    />
  );
}

function CatalogHeader({ children }: { children?: ReactNode }) {
  return (
    <header className="header">
      <h1>
        Atelier <span>catalog</span>
      </h1>
      <nav aria-label="Pages">
        <a href="/">Shopper try-on</a>
      </nav>
      {children}
    </header>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = key.trim();
    setBusy(true);
    setError(null);
    try {
      const tokens: TokenSource = { token: async () => trimmed, refresh: async () => null };
      await new ApiClient(tokens).request(catalog, { after: null });
      onSignedIn(trimmed);
    } catch (e) {
      setError(e instanceof ApiError ? `Sign-in failed: ${e.message}` : 'Sign-in failed: the server did not answer.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="page narrow">
      <CatalogHeader />
      <form className="panel" onSubmit={(e) => void submit(e)}>
        <h2>Sign in</h2>
        <p>
          Use an API key of your store with the CATALOG_WRITE scope (and RENDERS_READ to see recent renders), or an ADMIN key. It stays in
          this tab only.
        </p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="atk_…"
          required
        />
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function CatalogWorkspace({ apiKey, onSignOut }: { apiKey: string; onSignOut: () => void }) {
  const api = useMemo(() => new ApiClient({ token: async () => apiKey, refresh: async () => null }), [apiKey]);
  const [tenantName, setTenantName] = useState('');
  const [garments, setGarments] = useState<Garment[]>([]);
  const [renders, setRenders] = useState<RecentRender[]>([]);
  // A key without RENDERS_READ manages the catalog but reads no renders: asked once, then shown as such.
  const [rendersForbidden, setRendersForbidden] = useState(false);
  const rendersRefused = useRef(false);
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [dragging, setDragging] = useState(false);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<string | null>(null);
  const nextDraftId = useRef(1);
  // The latest cache state of each garment seen live: a cache can turn READY before the
  // createGarment answer that adds its garment to the list arrives.
  const liveCaches = useRef(new Map<string, Garment['referenceCache']>());

  const [moreGarments, setMoreGarments] = useState<string | null>(null);
  const [totalGarments, setTotalGarments] = useState(0);

  /** A page of 100 garments, newest first, added to the list; null: the first page. */
  const loadCatalog = useCallback(
    async (after: string | null = null) => {
      const data = await api.request(catalog, { after });
      setTenantName(data.tenant.name);
      setTotalGarments(data.garments.totalCount);
      const page = data.garments.edges.map((e) => e.node);
      setGarments((list) => (after ? [...list, ...page.filter((g) => !list.some((l) => l.id === g.id))] : page));
      setMoreGarments(data.garments.pageInfo.hasNextPage ? (data.garments.pageInfo.endCursor ?? null) : null);
    },
    [api],
  );

  const loadRenders = useCallback(async () => {
    if (rendersRefused.current) return;
    try {
      const data = await api.request(recentRenders, {});
      setRenders(data.renders.edges.map((e) => e.node));
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'FORBIDDEN')) throw e;
      rendersRefused.current = true;
      setRendersForbidden(true);
    }
  }, [api]);

  useEffect(() => {
    // Subscribe first, then read: a cache that turns READY in between is not missed.
    const stop = api.subscribe(
      referenceCacheChanged,
      {},
      {
        next: ({ referenceCacheChanged: changed }) => {
          liveCaches.current.set(changed.id, changed.referenceCache);
          setGarments((list) => list.map((g) => (g.id === changed.id ? { ...g, referenceCache: changed.referenceCache } : g)));
          setNotice(`Reference cache ${changed.referenceCache.status.toLowerCase()}.`);
        },
        error: (e) => setError(`Live updates stopped: ${e.message}`),
        complete: () => undefined,
      },
    );
    loadCatalog().catch((e: unknown) => {
      if (e instanceof ApiError && (e.code === 'UNAUTHENTICATED' || e.code === 'FORBIDDEN')) onSignOut();
      else setError(e instanceof Error ? e.message : String(e));
    });
    void loadRenders().catch(() => undefined);
    const timer = setInterval(() => void loadRenders().catch(() => undefined), RENDERS_REFRESH_MS);
    return () => {
      stop();
      clearInterval(timer);
      api.close();
    };
  }, [api, loadCatalog, loadRenders, onSignOut]);

  function addFiles(files: FileList | null) {
    if (!files) return;
    const images = [...files].filter((f) => /^image\/(png|jpeg|webp)$/.test(f.type));
    if (images.length < files.length) setError('Only PNG, JPEG and WebP images can become garments; other files were left out.');
    else setError(null);
    setDrafts((list) => [
      ...list,
      ...images.map((file) => ({
        id: nextDraftId.current++,
        file,
        previewUrl: URL.createObjectURL(file),
        sku: baseName(file.name)
          .toUpperCase()
          .replace(/[^A-Z0-9]+/g, '-')
          .slice(0, 100),
        name: baseName(file.name).replace(/[-_]+/g, ' ').slice(0, 200),
        category: guessCategory(file.name),
        state: 'ready' as const,
        error: null,
      })),
    ]);
    if (images.length > 0)
      setNotice(`${images.length} image${images.length === 1 ? '' : 's'} ready to upload: check the names and categories.`);
  }

  function updateDraft(id: number, change: Partial<Draft>) {
    setDrafts((list) => list.map((d) => (d.id === id ? { ...d, ...change } : d)));
  }

  function removeDraft(draft: Draft) {
    URL.revokeObjectURL(draft.previewUrl);
    setDrafts((list) => list.filter((d) => d.id !== draft.id));
  }

  async function uploadAll() {
    setError(null);
    const pending = drafts.filter((d) => d.state !== 'uploading');
    let created = 0;
    // One at a time: garments are small, and the server computes their caches in order anyway.
    for (const draft of pending) {
      updateDraft(draft.id, { state: 'uploading', error: null });
      try {
        const data = await api.request(createGarment, {
          input: { sku: draft.sku, name: draft.name, category: draft.category, image: { dataUrl: await readAsDataUrl(draft.file) } },
        });
        const answered = data.createGarment.garment;
        const garment = answered ? { ...answered, referenceCache: liveCaches.current.get(answered.id) ?? answered.referenceCache } : null;
        if (garment) {
          created += 1;
          setTotalGarments((n) => n + 1);
          setGarments((list) => [garment, ...list.filter((g) => g.id !== garment.id)]);
          removeDraft(draft);
        } else updateDraft(draft.id, { state: 'failed', error: describeUserErrors(data.createGarment.userErrors) });
      } catch (e) {
        updateDraft(draft.id, { state: 'failed', error: e instanceof Error ? e.message : String(e) });
      }
    }
    setNotice(`${created} garment${created === 1 ? '' : 's'} uploaded; their reference caches are being computed.`);
  }

  async function archive(garment: Garment) {
    const data = await api.request(archiveGarment, { id: garment.id }).catch((e: unknown) => {
      setError(e instanceof Error ? e.message : String(e));
      return null;
    });
    if (!data) return;
    if (data.archiveGarment.garment) {
      setGarments((list) => list.map((g) => (g.id === garment.id ? { ...g, archived: true } : g)));
      setNotice(`${garment.name} archived: shoppers no longer see it.`);
    } else setError(describeUserErrors(data.archiveGarment.userErrors));
  }

  async function retry(garment: Garment) {
    const data = await api.request(retryReferenceCache, { garmentId: garment.id }).catch(() => null);
    const updated = data?.retryReferenceCache.garment;
    if (updated) setGarments((list) => list.map((g) => (g.id === garment.id ? { ...g, referenceCache: updated.referenceCache } : g)));
    else if (data) setError(describeUserErrors(data.retryReferenceCache.userErrors));
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer.files);
  }

  return (
    <main className="page">
      <CatalogHeader>
        <p className="signed-in">
          Signed in to <strong>{tenantName || '…'}</strong>{' '}
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        </p>
      </CatalogHeader>
      <p className="visually-hidden" role="status" aria-live="polite">
        {notice}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      <section aria-labelledby="upload-heading" className="panel">
        <h2 id="upload-heading">Add garments</h2>
        <div
          className={`dropzone${dragging ? ' dragging' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <label htmlFor="garment-files">
            <strong>Drop product images here</strong> or choose files (PNG, JPEG or WebP; several at once)
          </label>
          <input
            id="garment-files"
            type="file"
            multiple
            accept="image/png,image/jpeg,image/webp"
            onChange={(e) => {
              addFiles(e.target.files);
              e.target.value = '';
            }}
          />
        </div>
        {drafts.length > 0 && (
          <>
            <ul className="drafts" aria-label="Images to upload">
              {drafts.map((d) => (
                <li key={d.id} className="draft">
                  <img src={d.previewUrl} alt={`New garment image ${d.file.name}`} width={72} height={96} />
                  <div className="fields">
                    <label>
                      Name <input value={d.name} onChange={(e) => updateDraft(d.id, { name: e.target.value })} required />
                    </label>
                    <label>
                      SKU <input value={d.sku} onChange={(e) => updateDraft(d.id, { sku: e.target.value })} required />
                    </label>
                    <label>
                      Category{' '}
                      <select value={d.category} onChange={(e) => updateDraft(d.id, { category: e.target.value as GarmentCategory })}>
                        {CATEGORIES.map((c) => (
                          <option key={c} value={c}>
                            {CATEGORY_LABEL[c]}
                          </option>
                        ))}
                      </select>
                    </label>
                    {d.state === 'uploading' && <p>Uploading…</p>}
                    {d.error && (
                      <p className="error" role="alert">
                        {d.error}
                      </p>
                    )}
                  </div>
                  <button
                    type="button"
                    className="link"
                    aria-label={`Remove ${d.file.name} from the upload`}
                    onClick={() => removeDraft(d)}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
            <button
              type="button"
              className="primary"
              onClick={() => void uploadAll()}
              disabled={drafts.some((d) => d.state === 'uploading')}
            >
              Upload {drafts.length} garment{drafts.length === 1 ? '' : 's'}
            </button>
          </>
        )}
      </section>

      <section aria-labelledby="garments-heading" className="panel">
        <h2 id="garments-heading">Garments ({totalGarments})</h2>
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
              {garments.map((g) => (
                <tr key={g.id} data-sku={g.sku} className={g.archived ? 'archived' : undefined}>
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
                      <button type="button" onClick={() => void archive(g)} aria-label={`Archive ${g.name}`}>
                        Archive
                      </button>
                    )}
                    {g.referenceCache.status === 'FAILED' && (
                      <button type="button" onClick={() => void retry(g)} aria-label={`Retry the reference cache of ${g.name}`}>
                        Retry
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {moreGarments && (
          <button type="button" onClick={() => void loadCatalog(moreGarments).catch((e: unknown) => setError(String(e)))}>
            Show more garments
          </button>
        )}
      </section>

      <section aria-labelledby="renders-heading" className="panel">
        <h2 id="renders-heading">Recent renders</h2>
        {rendersForbidden ? (
          <p>This key cannot read renders: give it the RENDERS_READ scope to see them here.</p>
        ) : renders.length === 0 ? (
          <p>No renders yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Requested</th>
                  <th scope="col">Status</th>
                  <th scope="col">Garments</th>
                  <th scope="col" title="From the request to a worker taking it">
                    Queue
                  </th>
                  <th scope="col" title="Reading the inputs (rows, blobs) and loading them into the engine">
                    Load
                  </th>
                  <th scope="col" title="Reference caches computed during the render (0 when every cache was ready)">
                    Reference
                  </th>
                  <th scope="col" title="The denoising steps">
                    Denoise
                  </th>
                  <th scope="col" title="Decoding the final latent (VAE)">
                    Decode
                  </th>
                  <th scope="col" title="Compositing into the photo, PNG encoding, storing the result">
                    Finish
                  </th>
                  <th scope="col" title="From a worker taking the render to its result stored">
                    Total
                  </th>
                </tr>
              </thead>
              <tbody>
                {renders.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>
                    </td>
                    <td>
                      <span className={`badge ${r.status.toLowerCase()}`}>{r.status}</span>
                      {r.status === 'RUNNING' && (
                        <span className="muted">
                          {' '}
                          {r.completedSteps}/{r.steps}
                        </span>
                      )}
                      {r.error && <span className="muted"> {r.error.code}</span>}
                    </td>
                    <td>{r.outfit.garments.map((g) => g.name).join(', ')}</td>
                    <td>{formatMs(r.timings?.queueMs)}</td>
                    <td>{formatMs(r.timings?.loadMs)}</td>
                    <td>{formatMs(r.timings?.referenceMs)}</td>
                    <td>{formatMs(r.timings?.denoiseMs)}</td>
                    <td>{formatMs(r.timings?.decodeMs)}</td>
                    <td>{formatMs(r.timings?.finishMs)}</td>
                    <td>{formatMs(r.timings?.totalMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </main>
  );
}
