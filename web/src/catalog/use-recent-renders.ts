// The store's recent renders, read again every few seconds. A key without RENDERS_READ manages the
// catalog but reads no renders: asked once, then shown as such.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import { recentRenders } from '../api/operations';
import type { RecentRender } from './catalog-model';

const RENDERS_REFRESH_MS = 5000;

export function useRecentRenders(api: ApiClient): { renders: RecentRender[]; rendersForbidden: boolean } {
  const [renders, setRenders] = useState<RecentRender[]>([]);
  const [rendersForbidden, setRendersForbidden] = useState(false);
  const rendersRefused = useRef(false);

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
    void loadRenders().catch(() => undefined);
    const timer = setInterval(() => void loadRenders().catch(() => undefined), RENDERS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [loadRenders]);

  return { renders, rendersForbidden };
}
