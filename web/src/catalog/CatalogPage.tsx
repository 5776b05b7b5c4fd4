// The retailer's catalog page (/catalog): sign in with an API key (kept in this tab's
// sessionStorage only), upload garments (drag and drop, several at once), watch each one's
// reference cache turn READY live (referenceCacheChanged over graphql-ws), archive garments,
// and see recent renders with their timings.
import { useEffect, useMemo, useState } from 'react';
import { ApiClient } from '../api/client';
import { CatalogHeader } from './CatalogHeader';
import { SignIn } from './SignIn';
import { GarmentUpload } from './GarmentUpload';
import { GarmentTable } from './GarmentTable';
import { RecentRenders } from './RecentRenders';
import { useCatalog } from './use-catalog';
import { useDrafts } from './use-drafts';
import { useRecentRenders } from './use-recent-renders';
import type { Feedback } from './catalog-model';

const KEY_STORAGE = 'atelier.apiKey';

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

function CatalogWorkspace({ apiKey, onSignOut }: { apiKey: string; onSignOut: () => void }) {
  const api = useMemo(() => new ApiClient({ token: async () => apiKey, refresh: async () => null }), [apiKey]);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<string | null>(null);
  const feedback: Feedback = useMemo(() => ({ setNotice, setError }), []);
  const catalog = useCatalog(api, feedback, onSignOut);
  const { renders, rendersForbidden } = useRecentRenders(api);
  const drafts = useDrafts(api, feedback, catalog.addGarment);
  // Declared last, so it runs after the live updates and the refresh have stopped.
  useEffect(() => () => api.close(), [api]);

  return (
    <main className="page">
      <CatalogHeader>
        <p className="signed-in">
          Signed in to <strong>{catalog.tenantName || '…'}</strong>{' '}
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
      <GarmentUpload {...drafts} />
      <GarmentTable api={api} catalog={catalog} feedback={feedback} />
      <RecentRenders renders={renders} rendersForbidden={rendersForbidden} />
    </main>
  );
}
