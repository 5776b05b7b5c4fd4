// The store's catalog as the page shows it: the tenant's name, its garments (100 at a time, newest
// first) kept current by referenceCacheChanged over graphql-ws, and the garments it adds or changes.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import { catalog, referenceCacheChanged } from '../api/operations';
import { errorText, type Feedback, type Garment } from './catalog-model';

export interface Catalog {
  tenantName: string;
  garments: Garment[];
  /** How many garments the store has, all pages together. */
  totalGarments: number;
  /** The cursor of the next page; null when there is none. */
  moreGarments: string | null;
  loadCatalog(after?: string | null): Promise<void>;
  /** A garment just created: first in the list, with its cache as last seen live. */
  addGarment(garment: Garment): void;
  updateGarment(id: string, change: Partial<Garment>): void;
}

export function useCatalog(api: ApiClient, { setNotice, setError }: Feedback, onSignOut: () => void): Catalog {
  const [tenantName, setTenantName] = useState('');
  const [garments, setGarments] = useState<Garment[]>([]);
  const [moreGarments, setMoreGarments] = useState<string | null>(null);
  const [totalGarments, setTotalGarments] = useState(0);
  // The latest cache state of each garment seen live: a cache can turn READY before the
  // createGarment answer that adds its garment to the list arrives.
  const liveCaches = useRef(new Map<string, Garment['referenceCache']>());

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

  const updateGarment = useCallback((id: string, change: Partial<Garment>) => {
    setGarments((list) => list.map((g) => (g.id === id ? { ...g, ...change } : g)));
  }, []);

  useEffect(() => {
    // Subscribe first, then read: a cache that turns READY in between is not missed.
    const stop = api.subscribe(
      referenceCacheChanged,
      {},
      {
        next: ({ referenceCacheChanged: changed }) => {
          liveCaches.current.set(changed.id, changed.referenceCache);
          updateGarment(changed.id, { referenceCache: changed.referenceCache });
          setNotice(`Reference cache ${changed.referenceCache.status.toLowerCase()}.`);
        },
        error: (e) => setError(`Live updates stopped: ${e.message}`),
        complete: () => undefined,
      },
    );
    loadCatalog().catch((e: unknown) => {
      if (e instanceof ApiError && (e.code === 'UNAUTHENTICATED' || e.code === 'FORBIDDEN')) onSignOut();
      else setError(errorText(e));
    });
    return stop;
  }, [api, loadCatalog, updateGarment, onSignOut, setNotice, setError]);

  const addGarment = useCallback((answered: Garment) => {
    const garment = { ...answered, referenceCache: liveCaches.current.get(answered.id) ?? answered.referenceCache };
    setTotalGarments((n) => n + 1);
    setGarments((list) => [garment, ...list.filter((g) => g.id !== garment.id)]);
  }, []);

  return { tenantName, garments, totalGarments, moreGarments, loadCatalog, addGarment, updateGarment };
}
