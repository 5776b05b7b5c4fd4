// The try-on: make the outfit, request its render and follow its progress live (renderProgress
// over graphql-ws), cancel it, or show a past render instead.
import { useCallback, useRef, useState } from 'react';
import { describeUserErrors, type ApiClient } from '../api/client';
import { cancelRender, createOutfit, renderProgress, requestRender } from '../api/operations';
import {
  describeRenderError,
  errorText,
  TERMINAL,
  type Feedback,
  type Garment,
  type PastRender,
  type Photo,
  type Shown,
} from './shopper-model';

export interface TryOn {
  shown: Shown | null;
  /** The shown render is still queued or running. */
  running: boolean;
  /** The outfit and render are being requested. */
  starting: boolean;
  start(photo: Photo, outfit: Garment[]): Promise<void>;
  cancel(): Promise<void>;
  showPast(render: PastRender): void;
  /** Stops following the live render, if any (the page is closing). */
  stopWatching(): void;
}

interface Watcher extends Feedback {
  setShown(update: (shown: Shown | null) => Shown | null): void;
  onComplete(): void;
}

/** Follows a render's progress into the shown render; returns the function that stops it. */
function watchRender(api: ApiClient, renderId: string, { setShown, setNotice, setError, onComplete }: Watcher): () => void {
  return api.subscribe(
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
                error: describeRenderError(event.render.error),
              }
            : s,
        );
      },
      error: (e) => setError({ section: 'try-on', text: `Lost the live progress: ${e.message}` }),
      complete: onComplete,
    },
  );
}

/** Makes the outfit and requests its render: the render to show, or why the outfit was refused. */
async function requestTryOn(api: ApiClient, photo: Photo, outfit: Garment[]): Promise<{ shown: Shown } | { refused: string }> {
  const name = outfit.map((g) => g.name).join(' + ');
  const created = await api.request(createOutfit, { name, garmentIds: outfit.map((g) => g.id) });
  if (!created.createOutfit.outfit)
    return { refused: `This outfit is not possible: ${describeUserErrors(created.createOutfit.userErrors)}` };
  const requested = await api.request(requestRender, { outfitId: created.createOutfit.outfit.id, personPhotoId: photo.id });
  const render = requested.requestRender.render;
  if (!render) return { refused: describeUserErrors(requested.requestRender.userErrors) };
  const shown: Shown = {
    renderId: render.id,
    status: render.status,
    step: 0,
    totalSteps: render.steps,
    originalUrl: photo.image.url,
    previewUrl: null,
    resultUrl: null,
    error: null,
    outfitLabel: name,
  };
  return { shown };
}

function shownFromPast(render: PastRender): Shown {
  return {
    renderId: render.id,
    status: render.status,
    step: render.completedSteps,
    totalSteps: render.steps,
    originalUrl: render.personPhoto.image.url,
    previewUrl: null,
    resultUrl: render.result?.url ?? null,
    error: describeRenderError(render.error),
    outfitLabel: render.outfit.name,
  };
}

export function useTryOn(api: ApiClient, feedback: Feedback, loadHistory: () => Promise<void>): TryOn {
  const { setNotice, setError } = feedback;
  const [shown, setShown] = useState<Shown | null>(null);
  const [starting, setStarting] = useState(false);
  const stopProgress = useRef<(() => void) | null>(null);

  function watch(renderId: string) {
    stopProgress.current?.();
    stopProgress.current = watchRender(api, renderId, {
      ...feedback,
      setShown,
      onComplete: () => {
        stopProgress.current = null;
        void loadHistory().catch(() => undefined);
      },
    });
  }

  async function start(photo: Photo, outfit: Garment[]) {
    setError(null);
    setStarting(true);
    try {
      const answer = await requestTryOn(api, photo, outfit);
      if ('refused' in answer) {
        setError({ section: 'outfit', text: answer.refused });
        return;
      }
      setShown(answer.shown);
      setNotice('Your try-on is on its way.');
      watch(answer.shown.renderId);
    } catch (e) {
      setError({ section: 'outfit', text: errorText(e) });
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
    setShown(shownFromPast(render));
    if (!TERMINAL.includes(render.status)) watch(render.id);
    document.getElementById('try-on')?.scrollIntoView({ behavior: 'smooth' });
  }

  const stopWatching = useCallback(() => stopProgress.current?.(), []);
  const running = shown !== null && !TERMINAL.includes(shown.status);
  return { shown, running, starting, start, cancel, showPast, stopWatching };
}
