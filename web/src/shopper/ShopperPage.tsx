// The shopper page (/): choose or upload a person photo, compose an outfit from the catalog,
// try it on and watch the render arrive step by step (renderProgress over graphql-ws), then
// download it or look through past renders. It acts with a shopper session only.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiClient, ApiError, describeUserErrors, readAsDataUrl } from '../api/client';
import {
  cancelRender,
  createOutfit,
  pastRenders,
  renderProgress,
  requestRender,
  shopperGarments,
  shopperHome,
  uploadPersonPhoto,
} from '../api/operations';
import type { GarmentCategory, PastRendersQuery, RenderStatus, ShopperGarmentsQuery, ShopperHomeQuery } from '../generated/graphql';
import { CATEGORIES, CATEGORY_LABEL, CATEGORY_PLURAL, formatTime } from '../common/labels';
import { NoSessionError, ShopperSession } from './shopper-session';

type Photo = ShopperHomeQuery['personPhotos']['edges'][number]['node'];
type Garment = ShopperGarmentsQuery['garments']['edges'][number]['node'];
type PastRender = PastRendersQuery['renders']['edges'][number]['node'];

/** The render shown in the try-on area: live while it runs, or one picked from the past. */
interface Shown {
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

type Section = 'page' | 'photo' | 'outfit' | 'try-on';

function ErrorNote({ error, section }: { error: { section: Section; text: string } | null; section: Section }) {
  return error?.section === section ? (
    <p role="alert" className="error" data-testid="error">
      {error.text}
    </p>
  ) : null;
}

const TERMINAL: readonly RenderStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];

/** By category, then by name ("Sample top 2" before "Sample top 10"). */
function byShelf(a: Garment, b: Garment): number {
  return CATEGORIES.indexOf(a.category) - CATEGORIES.indexOf(b.category) || a.name.localeCompare(b.name, undefined, { numeric: true });
}

export function ShopperPage() {
  const session = useMemo(() => new ShopperSession(), []);
  const api = useMemo(() => new ApiClient(session), [session]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [photoId, setPhotoId] = useState<string | null>(null);
  const [garments, setGarments] = useState<Garment[]>([]);
  const [filter, setFilter] = useState<GarmentCategory | 'ALL'>('ALL');
  const [chosen, setChosen] = useState<Partial<Record<GarmentCategory, Garment>>>({});
  const [notice, setNotice] = useState('');
  // Shown in the section where the shopper acted (and announced), not at the top of a long page.
  const [error, setError] = useState<{ section: Section; text: string } | null>(null);
  const [uploading, setUploading] = useState(false);
  const [starting, setStarting] = useState(false);
  const [shown, setShown] = useState<Shown | null>(null);
  const [history, setHistory] = useState<PastRender[]>([]);
  const stopProgress = useRef<(() => void) | null>(null);

  const [moreGarments, setMoreGarments] = useState<string | null>(null);

  /** A page of the catalog (100 garments), added to what is shown; null: the first page. */
  const loadGarments = useCallback(
    async (after: string | null) => {
      const data = await api.request(shopperGarments, { after });
      const page = data.garments.edges.map((e) => e.node).filter((g) => !g.archived);
      setGarments((list) => (after ? [...list, ...page] : page).sort(byShelf));
      setMoreGarments(data.garments.pageInfo.hasNextPage ? (data.garments.pageInfo.endCursor ?? null) : null);
    },
    [api],
  );

  const loadHistory = useCallback(async () => {
    const data = await api.request(pastRenders, {});
    setHistory(data.renders.edges.map((e) => e.node));
  }, [api]);

  useEffect(() => {
    (async () => {
      try {
        const data = await api.request(shopperHome, {});
        const list = data.personPhotos.edges.map((e) => e.node);
        setPhotos(list);
        setPhotoId(list[0]?.id ?? null);
        await loadGarments(null);
        await loadHistory();
        setLoaded(true);
      } catch (e) {
        setLoadError(
          e instanceof NoSessionError || e instanceof ApiError ? e.message : 'The catalog could not be loaded; is the server running?',
        );
      }
    })();
    return () => {
      stopProgress.current?.();
      api.close();
    };
  }, [api, loadGarments, loadHistory]);

  const photo = photos.find((p) => p.id === photoId) ?? null;
  const outfit = CATEGORIES.map((c) => chosen[c]).filter((g): g is Garment => g !== undefined);
  const running = shown !== null && !TERMINAL.includes(shown.status);

  function toggleGarment(garment: Garment) {
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

  async function onPhotoFile(file: File | undefined) {
    if (!file) return;
    setError(null);
    setUploading(true);
    try {
      const data = await api.request(uploadPersonPhoto, { dataUrl: await readAsDataUrl(file) });
      const uploaded = data.uploadPersonPhoto.personPhoto;
      if (!uploaded) {
        setError({ section: 'photo', text: describeUserErrors(data.uploadPersonPhoto.userErrors) });
        return;
      }
      setPhotos((list) => [uploaded, ...list]);
      setPhotoId(uploaded.id);
      setNotice('Your photo was uploaded and chosen.');
    } catch (e) {
      setError({ section: 'photo', text: e instanceof Error ? e.message : String(e) });
    } finally {
      setUploading(false);
    }
  }

  function watch(renderId: string) {
    stopProgress.current?.();
    stopProgress.current = api.subscribe(
      renderProgress,
      { renderId },
      {
        next: ({ renderProgress: event }) => {
          if (event.status === 'SUCCEEDED') setNotice('Your try-on is ready: it is shown beside your photo.');
          else if (event.status === 'FAILED') setNotice('Your try-on failed.');
          setShown((s) =>
            s && s.renderId === renderId
              ? {
                  ...s,
                  status: event.status,
                  step: event.step,
                  totalSteps: event.totalSteps,
                  previewUrl: event.preview?.url ?? s.previewUrl,
                  resultUrl: event.render.result?.url ?? s.resultUrl,
                  error: event.render.error ? `${event.render.error.message} (${event.render.error.code})` : null,
                }
              : s,
          );
        },
        error: (e) => setError({ section: 'try-on', text: `Lost the live progress: ${e.message}` }),
        complete: () => {
          stopProgress.current = null;
          void loadHistory().catch(() => undefined);
        },
      },
    );
  }

  async function tryOn() {
    if (!photo) return;
    setError(null);
    setStarting(true);
    try {
      const name = outfit.map((g) => g.name).join(' + ');
      const created = await api.request(createOutfit, { name, garmentIds: outfit.map((g) => g.id) });
      if (!created.createOutfit.outfit) {
        setError({ section: 'outfit', text: `This outfit is not possible: ${describeUserErrors(created.createOutfit.userErrors)}` });
        return;
      }
      const requested = await api.request(requestRender, { outfitId: created.createOutfit.outfit.id, personPhotoId: photo.id });
      const render = requested.requestRender.render;
      if (!render) {
        setError({ section: 'outfit', text: describeUserErrors(requested.requestRender.userErrors) });
        return;
      }
      setShown({
        renderId: render.id,
        status: render.status,
        step: 0,
        totalSteps: render.steps,
        originalUrl: photo.image.url,
        previewUrl: null,
        resultUrl: null,
        error: null,
        outfitLabel: name,
      });
      setNotice('Your try-on is on its way.');
      watch(render.id);
    } catch (e) {
      setError({ section: 'outfit', text: e instanceof Error ? e.message : String(e) });
    } finally {
      setStarting(false);
    }
  }

  async function cancel() {
    if (!shown) return;
    const data = await api.request(cancelRender, { id: shown.renderId }).catch(() => null);
    if (data && data.cancelRender.userErrors.length > 0)
      setError({ section: 'try-on', text: describeUserErrors(data.cancelRender.userErrors) });
  }

  function showPast(render: PastRender) {
    stopProgress.current?.();
    stopProgress.current = null;
    setShown({
      renderId: render.id,
      status: render.status,
      step: render.completedSteps,
      totalSteps: render.steps,
      originalUrl: render.personPhoto.image.url,
      previewUrl: null,
      resultUrl: render.result?.url ?? null,
      error: render.error ? `${render.error.message} (${render.error.code})` : null,
      outfitLabel: render.outfit.name,
    });
    if (!TERMINAL.includes(render.status)) watch(render.id);
    document.getElementById('try-on')?.scrollIntoView({ behavior: 'smooth' });
  }

  if (loadError) {
    return (
      <main className="page">
        <Header />
        <p role="alert" className="error">
          {loadError}
        </p>
      </main>
    );
  }

  const visible = garments.filter((g) => filter === 'ALL' || g.category === filter);
  const percent = shown && shown.totalSteps > 0 ? Math.round((100 * shown.step) / shown.totalSteps) : 0;

  return (
    <main className="page" aria-busy={!loaded}>
      <Header demo={session.isDemo} />
      <p className="visually-hidden" role="status" aria-live="polite">
        {notice}
      </p>
      <ErrorNote error={error} section="page" />

      <section aria-labelledby="photo-heading" className="panel">
        <h2 id="photo-heading">1. Your photo</h2>
        <div className="photo-grid" role="group" aria-label="Person photos">
          {photos.map((p, i) => (
            <button key={p.id} type="button" className="tile" aria-pressed={p.id === photoId} onClick={() => setPhotoId(p.id)}>
              <img src={p.image.url} alt={`Person photo ${i + 1}`} width={p.image.width} height={p.image.height} />
            </button>
          ))}
          <label className="tile upload-tile">
            <span>{uploading ? 'Uploading…' : 'Upload a photo'}</span>
            <input
              type="file"
              accept="image/png,image/jpeg,image/webp"
              disabled={uploading}
              onChange={(e) => void onPhotoFile(e.target.files?.[0])}
            />
          </label>
        </div>
        {loaded && photos.length === 0 && <p>Upload a photo of yourself, standing, to start.</p>}
        <ErrorNote error={error} section="photo" />
      </section>

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
              aria-pressed={chosen[g.category]?.id === g.id}
              onClick={() => toggleGarment(g)}
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
        {moreGarments && (
          <button
            type="button"
            onClick={() => void loadGarments(moreGarments).catch((e: unknown) => setError({ section: 'page', text: String(e) }))}
          >
            Show more garments
          </button>
        )}
      </section>

      <section aria-labelledby="outfit-heading" className="panel">
        <h2 id="outfit-heading">3. Your outfit</h2>
        <p className="hint">One garment per category; a dress goes without a top or bottom; up to five.</p>
        {outfit.length === 0 ? (
          <p>Nothing chosen yet.</p>
        ) : (
          <ul className="outfit" aria-label="Chosen garments">
            {outfit.map((g) => (
              <li key={g.id}>
                <img src={g.image.url} alt="" width={48} height={64} />
                <span>
                  {CATEGORY_LABEL[g.category]}: {g.name}
                </span>
                <button type="button" className="link" aria-label={`Remove ${g.name}`} onClick={() => toggleGarment(g)}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <ErrorNote error={error} section="outfit" />
        <button
          type="button"
          className="primary"
          disabled={!photo || outfit.length === 0 || starting || running}
          onClick={() => void tryOn()}
        >
          {starting ? 'Starting…' : 'Try on'}
        </button>
        {(!photo || outfit.length === 0) && <p className="hint">Choose a photo and at least one garment.</p>}
      </section>

      {shown && (
        <section id="try-on" aria-labelledby="result-heading" className="panel">
          <h2 id="result-heading">Try-on: {shown.outfitLabel}</h2>
          <div
            className="progress"
            role="progressbar"
            aria-label="Try-on progress"
            aria-valuemin={0}
            aria-valuemax={shown.totalSteps}
            aria-valuenow={shown.step}
            aria-valuetext={`Step ${shown.step} of ${shown.totalSteps}`}
          >
            <div className="progress-fill" style={{ width: `${percent}%` }} />
          </div>
          <p data-testid="progress-text">
            {shown.status === 'QUEUED' && 'Waiting for the engine…'}
            {shown.status === 'RUNNING' && `Step ${shown.step} of ${shown.totalSteps}`}
            {shown.status === 'SUCCEEDED' && `Done: ${shown.totalSteps} of ${shown.totalSteps} steps`}
            {shown.status === 'FAILED' && `Failed: ${shown.error ?? 'unknown error'}`}
            {shown.status === 'CANCELED' && 'Canceled'}
          </p>
          <div className="compare">
            <figure>
              <img src={shown.originalUrl} alt="Your original photo" />
              <figcaption>Original</figcaption>
            </figure>
            <figure>
              {shown.resultUrl ? (
                <img src={shown.resultUrl} alt={`Try-on result: ${shown.outfitLabel}`} data-testid="result-image" />
              ) : shown.previewUrl ? (
                <img src={shown.previewUrl} alt={`Preview at step ${shown.step} of ${shown.totalSteps}`} data-testid="preview-image" />
              ) : (
                <div className="placeholder" aria-hidden="true" />
              )}
              <figcaption>{shown.resultUrl ? 'Try-on' : 'Preview'}</figcaption>
            </figure>
          </div>
          <ErrorNote error={error} section="try-on" />
          <div className="actions">
            {shown.resultUrl && (
              <a className="button primary" href={shown.resultUrl} download={`atelier-try-on-${shown.renderId.slice(-8)}.png`}>
                Download
              </a>
            )}
            {running && (
              <button type="button" onClick={() => void cancel()}>
                Cancel
              </button>
            )}
          </div>
        </section>
      )}

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
    </main>
  );
}

function Header({ demo = false }: { demo?: boolean }) {
  return (
    <header className="header">
      <h1>
        Atelier <span>try-on</span>
      </h1>
      <nav aria-label="Pages">
        <a href="/catalog">Catalog (retailers)</a>
      </nav>
      {demo && <p className="demo-note">Demo store: sample garments and photos, made up by the engine's tiny model.</p>}
    </header>
  );
}
