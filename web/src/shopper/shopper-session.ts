// Where the shopper page gets its shopper session token (ats_…, one hour); it never holds
// a tenant API key. Either the retailer's back end opened the page as /#session=<token>,
// or, on a server with the demo tenant, the demo-only endpoint POST /demo/session plays that
// back end for a random visitor id kept in this browser.
import type { TokenSource } from '../api/client';

/** The page cannot act for a shopper: no token was given and the server has no demo. */
export class NoSessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoSessionError';
  }
}

const VISITOR_KEY = 'atelier.demoVisitor';
/** A session is renewed when it has less than this left. */
const RENEW_BEFORE_MS = 2 * 60_000;

function visitorId(): string {
  let id = localStorage.getItem(VISITOR_KEY);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    id = btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    localStorage.setItem(VISITOR_KEY, id);
  }
  return id;
}

export class ShopperSession implements TokenSource {
  private current: { token: string; expiresAt: number } | null = null;
  private pending: Promise<string> | null = null;
  private readonly given: string | null;

  constructor() {
    // A token handed over in the fragment (never sent to servers in Referer or logs).
    const match = /(?:^|[#&])session=(ats_[A-Za-z0-9_.-]+)/.exec(location.hash);
    this.given = match?.[1] ?? sessionStorage.getItem('atelier.session');
    if (match) {
      sessionStorage.setItem('atelier.session', match[1]!);
      history.replaceState(null, '', location.pathname + location.search);
    }
  }

  /** True when the session comes from the demo endpoint (the page says so). */
  get isDemo(): boolean {
    return this.given === null;
  }

  async token(): Promise<string> {
    if (this.given) return this.given;
    if (this.current && this.current.expiresAt - Date.now() > RENEW_BEFORE_MS) return this.current.token;
    return this.fetchDemoSession();
  }

  async refresh(): Promise<string | null> {
    if (this.given) return null;
    this.current = null;
    return this.fetchDemoSession();
  }

  private fetchDemoSession(): Promise<string> {
    this.pending ??= (async () => {
      try {
        const response = await fetch('/demo/session', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ visitor: visitorId() }),
        });
        if (response.status === 404) {
          throw new NoSessionError(
            'This page needs a shopper session. A retailer opens it as /#session=<token>, with a token from createShopperSession; the demo tenant of the embedded default provides one by itself.',
          );
        }
        const body = (await response.json()) as { token?: string; expiresAt?: string; error?: { message?: string } };
        if (!response.ok || !body.token || !body.expiresAt)
          throw new NoSessionError(body.error?.message ?? `the demo session endpoint answered HTTP ${response.status}`);
        this.current = { token: body.token, expiresAt: Date.parse(body.expiresAt) };
        return body.token;
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }
}
