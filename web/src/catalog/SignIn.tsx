// The catalog page's sign-in: an API key, checked by reading the catalog with it before it is kept.
import { useState, type FormEvent } from 'react';
import { ApiClient, ApiError, type TokenSource } from '../api/client';
import { catalog } from '../api/operations';
import { CatalogHeader } from './CatalogHeader';

export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
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
