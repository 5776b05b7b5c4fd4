// The shopper page (/): choose or upload a person photo, compose an outfit from the catalog,
// try it on and watch the render arrive step by step (renderProgress over graphql-ws), then
// download it or look through past renders. It acts with a shopper session only.
import { useEffect, useMemo, useState } from 'react';
import { ApiClient } from '../api/client';
import { ShopperSession } from './shopper-session';
import { useShopperHome } from './use-shopper-home';
import { useOutfit } from './use-outfit';
import { useTryOn } from './use-try-on';
import { ShopperHeader } from './ShopperHeader';
import { ErrorNote } from './ErrorNote';
import { PhotoPicker } from './PhotoPicker';
import { GarmentShelf } from './GarmentShelf';
import { OutfitPanel } from './OutfitPanel';
import { TryOnPanel } from './TryOnPanel';
import { PastTryOns } from './PastTryOns';
import type { Feedback, SectionError } from './shopper-model';

export function ShopperPage() {
  const session = useMemo(() => new ShopperSession(), []);
  const api = useMemo(() => new ApiClient(session), [session]);
  const [notice, setNotice] = useState('');
  // Shown in the section where the shopper acted (and announced), not at the top of a long page.
  const [error, setError] = useState<SectionError | null>(null);
  const feedback: Feedback = { setNotice, setError };
  const home = useShopperHome(api);
  const outfit = useOutfit(feedback);
  const tryOn = useTryOn(api, feedback, home.loadHistory);
  const { stopWatching } = tryOn;

  useEffect(
    () => () => {
      stopWatching();
      api.close();
    },
    [api, stopWatching],
  );

  if (home.loadError) {
    return (
      <main className="page">
        <ShopperHeader />
        <p role="alert" className="error">
          {home.loadError}
        </p>
      </main>
    );
  }

  const photo = home.photos.find((p) => p.id === home.photoId) ?? null;
  const more = home.moreGarments;
  const showMore = more ? () => void home.loadGarments(more).catch((e: unknown) => setError({ section: 'page', text: String(e) })) : null;

  return (
    <main className="page" aria-busy={!home.loaded}>
      <ShopperHeader demo={session.isDemo} />
      <p className="visually-hidden" role="status" aria-live="polite">
        {notice}
      </p>
      <ErrorNote error={error} section="page" />
      <PhotoPicker
        api={api}
        loaded={home.loaded}
        photos={home.photos}
        photoId={home.photoId}
        choosePhoto={home.choosePhoto}
        addPhoto={home.addPhoto}
        error={error}
        {...feedback}
      />
      <GarmentShelf loaded={home.loaded} garments={home.garments} outfit={outfit} showMore={showMore} />
      <OutfitPanel
        outfit={outfit}
        photo={photo}
        error={error}
        busy={tryOn.starting || tryOn.running}
        starting={tryOn.starting}
        tryOn={() => void (photo && tryOn.start(photo, outfit.garments))}
      />
      {tryOn.shown && <TryOnPanel shown={tryOn.shown} running={tryOn.running} error={error} cancel={() => void tryOn.cancel()} />}
      <PastTryOns history={home.history} showPast={tryOn.showPast} />
    </main>
  );
}
