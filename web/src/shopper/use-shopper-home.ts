// The shopper's side of the store, read when the page opens: their photos, the catalog (a page of
// 100 garments at a time, sorted by shelf) and their past renders.
import { useCallback, useEffect, useState } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import { pastRenders, shopperGarments, shopperHome } from '../api/operations';
import { NoSessionError } from './shopper-session';
import { byShelf, type Garment, type PastRender, type Photo } from './shopper-model';

export interface ShopperHome {
  /** Why the page could not load (no session, the server refused or did not answer); null while fine. */
  loadError: string | null;
  loaded: boolean;
  photos: Photo[];
  photoId: string | null;
  choosePhoto(id: string): void;
  /** A photo just uploaded: first in the list, and chosen. */
  addPhoto(photo: Photo): void;
  garments: Garment[];
  /** The cursor of the next page of garments; null when there is none. */
  moreGarments: string | null;
  loadGarments(after: string | null): Promise<void>;
  history: PastRender[];
  loadHistory(): Promise<void>;
}

export function useShopperHome(api: ApiClient): ShopperHome {
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [photoId, setPhotoId] = useState<string | null>(null);
  const [garments, setGarments] = useState<Garment[]>([]);
  const [moreGarments, setMoreGarments] = useState<string | null>(null);
  const [history, setHistory] = useState<PastRender[]>([]);

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
  }, [api, loadGarments, loadHistory]);

  const addPhoto = useCallback((photo: Photo) => {
    setPhotos((list) => [photo, ...list]);
    setPhotoId(photo.id);
  }, []);

  return {
    loadError,
    loaded,
    photos,
    photoId,
    choosePhoto: setPhotoId,
    addPhoto,
    garments,
    moreGarments,
    loadGarments,
    history,
    loadHistory,
  };
}
