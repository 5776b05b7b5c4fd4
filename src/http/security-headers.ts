// Security headers. Every response: no MIME sniffing, no referrer, never framed, and a
// Content-Security-Policy that allows nothing (JSON, images and errors need none). The web
// app's pages get a policy of their own: scripts, styles and fonts only from the server
// itself (the Vite build has no inline script or style), images from the server, the public
// URL its image links name, and the data:/blob: URLs of upload previews; requests and the
// graphql-ws socket to the server and the public URL.
import type express from 'express';

/** The policy of everything that is not a web page. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Headers set on every response (the web app's pages replace the Content-Security-Policy). */
export function apiSecurityHeaders(): express.RequestHandler {
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Content-Security-Policy', API_CSP);
    next();
  };
}

/** A Host header that may be written into a header value as is (no spaces, quotes or semicolons). */
const SAFE_HOST = /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$/;

/** The origin of `url` and its WebSocket twin, or nothing when it is not an http(s) URL. */
function originsOf(url: string): string[] {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return [];
    return [parsed.origin, `${parsed.protocol === 'https:' ? 'wss' : 'ws'}://${parsed.host}`];
  } catch {
    return [];
  }
}

/**
 * The web app's policy. `publicUrl`: the base of the image and upload links the API hands out
 * (ATELIER_PUBLIC_URL, or http://localhost:<port>), which may differ from the address the page
 * was opened at (127.0.0.1 vs localhost). The page's own WebSocket origin is named too, from
 * the Host header, for browsers whose 'self' does not cover ws:/wss:.
 */
export function webPageCsp(publicUrl: string, host: string | undefined): string {
  const [publicOrigin, publicSocket] = originsOf(publicUrl);
  const sockets = host && SAFE_HOST.test(host) ? [`ws://${host}`, `wss://${host}`] : [];
  const connect = ["'self'", ...(publicOrigin ? [publicOrigin, publicSocket!] : []), ...sockets];
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${publicOrigin ? ` ${publicOrigin}` : ''}`,
    `connect-src ${[...new Set(connect)].join(' ')}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The web app's Content-Security-Policy, for the pages and their assets. */
export function webPageSecurityHeaders(publicUrl: string): express.RequestHandler {
  return (req, res, next) => {
    res.setHeader('Content-Security-Policy', webPageCsp(publicUrl, req.headers.host));
    next();
  };
}
